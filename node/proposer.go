package node

import "time"

// electionWait bounds how long a write waits for a leader to be elected
// (at start, or during a failover) before it is refused. Writes on a
// follower are forwarded to the leader (forwardingProposer in forward.go).
const electionWait = 10 * time.Second
