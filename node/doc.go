// Package node runs one diegod process: it sets up the node's share of the
// cluster PKI (bootstrapping a cluster, joining one with a token, or
// loading the certificates of an earlier start), opens the replicated
// store over a mutual-TLS Raft transport, gossips with memberlist, serves
// the HTTP API, runs the leader-only work (auction, convergence,
// membership reconciliation) while this node leads, runs the node's cell
// and its router, and wires the packages together through small adapters.
// It holds no business rules: the store applies them, the auction decides
// placement, the cell runs work.
//
// Files: node.go (wiring, Run), config.go, pki.go and token.go (CA, node
// certificates, join token and secret), join.go (the join handshake, both
// sides), tls.go (TLS configs, Raft stream layer), network.go (the Network
// hook tests use to inject faults), gossip.go and peers.go (memberlist),
// membership.go (the leader turns gossip into cell states and Raft
// configuration changes), forward.go (writes forwarded to the leader,
// consistent reads), drain.go (drain and graceful leave), snapshot.go,
// api*.go and client*.go (the HTTP API and its client).
//
// Invariants:
//   - Writes go through the leader's raftstore.Propose (forwarded over
//     mutual TLS from followers); reads come from the local View
//     (?consistent=true first catches up with the leader's commit).
//   - Every node-to-node connection is TLS under the cluster CA: Raft and
//     internal API calls present and verify node certificates; gossip is
//     encrypted with a key derived from the cluster key. The join handshake
//     checks the CA fingerprint pinned in the token before it sends the
//     secret.
//   - Leader work runs only between gaining leadership (after a Barrier) and
//     losing it; it is cancelled and awaited before leadership is given up.
//   - A Raft voter is removed only on request or after DeadServerTimeout,
//     and only if the remaining voters keep a live quorum.
//   - Every component runs under one errgroup; Run returns when the context
//     ends and every component has stopped.
//
// Concurrency: Node's methods are safe for concurrent use once New has
// returned; Run is called once; Leave may be called while Run runs.
package node
