// Package raftstoretest runs whole raftstore clusters in one process: n
// Stores on raft.InmemTransport with in-memory storage, with helpers to
// find the leader, cut a node off and compare the replicas' states.
//
// Everything here is for tests; it fails the test (t.Fatalf) instead of
// returning errors, and cleans up with t.Cleanup.
package raftstoretest
