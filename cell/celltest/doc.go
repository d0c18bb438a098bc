// Package celltest holds hand-written fakes for package cell:
//
//   - FakeRuntime, a cell.Runtime without containers. It is both the test
//     fake and the product's `--runtime fake` (simulation mode): instances
//     serve real HTTP on loopback ports and follow the DIEGOD_FAKE_* script
//     of their environment (exit after, exit code, start delay, unhealthy
//     after, ignore SIGTERM). A task container's process exits at once
//     unless DIEGOD_FAKE_EXIT_AFTER says otherwise, and DIEGOD_FAKE_RESULT
//     is its result file (ReadFile).
//   - FakeReporter, a cell.Reporter that records commands and can refuse
//     them.
//   - FakeSource, a cell.AssignmentSource whose rows a test sets.
//
// Concurrency: every fake is safe for concurrent use.
package celltest
