// Package nodetest runs whole diegod clusters in one test process: real
// node.Nodes (Raft over loopback TCP with mutual TLS, memberlist gossip,
// the HTTP API, the fake container runtime) on temporary data dirs, joined
// with a real join token, behind a FaultNet that can isolate a node, cut a
// link or delay a node's traffic.
//
// Typical use:
//
//	c := nodetest.NewCluster(t, nodetest.Options{Nodes: 3})
//	leader := c.WaitLeader(t)
//	c.Kill(t, 1)   // hard stop: the node is cut off, then stopped
//	c.Restart(t, 1) // same data dir and ports, no token needed
//
// Every helper polls with a deadline; nothing sleeps to synchronise.
// Nodes are stopped when the test ends.
package nodetest
