// Package auction decides where app instances run and what convergence must
// repair, and runs both on the Raft leader.
//
// Two pure functions hold every decision:
//
//   - Place(cells, work, opts) is Diego's auction scheduler (spec §5): it
//     orders the work (index-0 LRPs, tasks, other LRPs), filters cells by
//     state, rootfs and placement tags, scores them (resources, starting
//     containers, same-process locality, zone spreading) and reserves on the
//     winner so that later items see it. It returns a Plan with a Placement
//     or a Failure (Diego's placement error text) for every item.
//   - Converge(snapshot, now, cfg) is Diego's LRP convergence pass (spec §3)
//     expressed in diegod's command catalogue (model/command.go). It returns
//     the commands, the next time it has something to do (NextWake) and the
//     counts for metrics. ConvergeTasks is the task pass (expiries, lost
//     cells, stalled callbacks, rejected tasks due for another auction).
//
// Runner (runner.go, the only file here with I/O) feeds them: on the leader
// it subscribes to the store's events, takes one snapshot per auction,
// proposes one model.ClaimBatch per auction, and proposes convergence
// commands periodically, after relevant events and at NextWake.
//
// Invariants:
//   - Place and Converge read no clock, do no I/O and do not log; the same
//     input (and seed) gives the same output, whatever Go's map order.
//   - Place never over-commits a cell it was given: a placement always fits
//     the cell's Capacity − Allocated minus what the same call placed there.
//   - Every distinct work item is either placed or failed with a non-empty
//     reason.
//   - The store re-checks every proposed command at commit (capacity,
//     allowed transitions), so a decision made on a stale snapshot is
//     skipped, never applied wrongly. Rejections of convergence commands
//     are expected races.
//   - Retiring rows is not gated on domain freshness (Diego's §1.5): the
//     desired set is in the same Raft log as the rows and cannot be lost on
//     its own.
//
// Concurrency: Place and Converge are safe to call from any goroutine on
// inputs the caller does not modify meanwhile. A Runner's Run owns three
// goroutines (event watcher, auction loop, convergence loop) and returns
// after all have stopped when its context ends; Run must not be called
// twice at once.
package auction
