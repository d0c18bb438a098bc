package node

// Log field keys of package node.
const (
	logKeyMember  = "member"
	logKeyState   = "state"
	logKeyAddress = "address"
	logKeyDetail  = "detail"
	logKeyCellID  = "cell_id"
	logKeyCommand = "command"
	logKeyLeader  = "leader"
	logKeyRole    = "raft_role"
	logKeyCount   = "count"
	logKeyJoin    = "join"
)
