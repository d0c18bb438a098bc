// Package model is diegod's shared vocabulary: DesiredLRP, ActualLRP, Cell,
// Task, their validation, the ActualLRP transition table, the task lifecycle
// (task_lifecycle.go: each task command is a method that refuses what the
// state machine does not allow), the crash restart policy,
// the closed catalogue of state-changing commands and the events the store
// publishes after a command commits.
//
// Invariants:
//   - model is pure: it does no I/O, reads no clock and imports neither raft,
//     bbolt nor the network. Time always arrives as a parameter.
//   - An ActualLRP is identified by (process_guid, index, presence); one index
//     has at most one row per presence (ORDINARY, EVACUATING, SUSPECT).
//   - Every state change of an ActualLRP must pass AllowsTransitionTo; the
//     store enforces it at commit.
//   - Constants quoted from Diego (restart policy, limits) keep Diego's values.
//
// Concurrency: values are plain data; callers copy before sharing mutable
// slices or maps across goroutines.
package model
