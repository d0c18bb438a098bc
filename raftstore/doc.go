// Package raftstore is diegod's replicated state: a hashicorp/raft group
// whose FSM holds every DesiredLRP, ActualLRP, Cell and Task in go-memdb, with
// the log and stable store on bbolt (raft-boltdb) and file snapshots.
//
// Ownership. Only applied commands change the state. Writers call
// Store.Propose on the leader with a model.Command from the closed catalogue
// (command.go: a CommandType byte per command, JSON payload); readers take a
// View (a memdb read transaction: consistent, cheap, never blocks writers)
// or Subscribe to the events each applied entry produced. The package
// enforces the model's rules (transitions, restart policy, capacity at
// claim) but decides no placement or policy of its own.
//
// Log entry format. One entry is a batch envelope: version byte, the
// proposer's timestamp (unix nanoseconds), a command count, then per
// command its type byte, a uvarint length and the JSON payload. Apply
// handlers take the envelope's timestamp as "now" and never read a clock,
// so every replica and every replay computes the same state. An unknown
// type with IgnoreUnknownTypeFlag is skipped; any other unknown type or a
// malformed entry panics, because skipping it would fork the replicas.
//
// Invariants.
//   - Entries at or below the applied index are skipped: replay and
//     redelivery change nothing.
//   - One memdb write transaction per ApplyBatch; the applied index is
//     written in the same transaction, so a View's Index matches its data.
//   - Stored records are never mutated in place (copy, change, re-insert),
//     so Views and events can share them.
//   - Each mutation of a record bumps its ModificationTag.Index; a new
//     record gets the deterministic epoch "<raft index>-<sequence>".
//   - Every row or record change emits exactly one created, changed or
//     removed event (per (process_guid, index, presence) row); a crash also
//     emits actual_lrp_crashed. Events are published after the commit.
//   - The state is memory only: on start raft restores the latest snapshot
//     and replays the log after it (NoSnapshotRestoreOnStart stays false).
//
// Snapshot format. JSON lines: a header with the format name, version and
// applied index, then DesiredLRPs, ActualLRPs, Cells and Tasks in index order, then
// a trailer with the counts (see snapshot.go). Restore swaps in the whole
// new state atomically and closes every event subscription, so subscribers
// resync from a View exactly as after a buffer overflow.
//
// Concurrency. Raft calls the FSM from one goroutine. Store methods are
// safe for concurrent use. Propose enqueues to a single batcher goroutine
// (group commit) that keeps at most two entries in raft; one goroutine per
// in-flight entry hands results back. The hub never blocks the apply path:
// a subscriber that falls behind is closed.
package raftstore
