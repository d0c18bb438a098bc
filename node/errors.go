package node

import "errors"

// Sentinel errors of package node for conditions a caller branches on.
var (
	// ErrBadToken is returned for a join token that does not parse.
	ErrBadToken = errors.New("malformed join token")
	// ErrCAMismatch is returned by a join when the CA the contacted node
	// presents is not the one the token pins; the secret is not sent.
	ErrCAMismatch = errors.New("cluster CA does not match the join token")
	// ErrJoinRefused is returned by a join that the cluster refused (wrong
	// secret, name in use).
	ErrJoinRefused = errors.New("join refused")
	// ErrNoPKI is returned when a data dir has no cluster certificates and
	// the node has neither a join address nor the right to bootstrap.
	ErrNoPKI = errors.New("no cluster certificates")
	// ErrUnsafeRemoval is returned when removing a Raft server would leave
	// the remaining voters without a quorum, or the server is still alive.
	ErrUnsafeRemoval = errors.New("unsafe raft removal")
)
