// Package cell is the node's executor (Diego's rep + executor): it registers
// the node's cell, watches the ActualLRPs assigned to it, runs each one in a
// container through a Runtime and lifecycle steps, and reports their
// lifecycle back through a Reporter. It also keeps the instances' recent
// logs (LogStore) and container metrics.
//
// Flow (plan, then execute): Cell.Run reads an Assignment (rows of this
// cell + their DesiredLRPs) from an AssignmentSource, computes the pure
// Diff against what it holds, and applies the plan:
//   - start: create the container (labels process_guid/index/instance_guid/
//     kind=lrp), run serial(setup, codependent(action, monitor)) with
//     Diego's injected env; when the monitor first passes (at once for
//     health check "none") report StartActualLRP with the net info; when the
//     action or the monitor ends, report CrashActualLRP with Diego's reason
//     ("APP/PROC/WEB: Exited with status 1", "Instance never healthy after
//     1m0s: ...", "Instance became unhealthy: ...", "failed to create
//     container: ..."); then destroy the container;
//     An action that exits 0 next to a health check is a daemon, as in
//     Diego: the monitor alone decides (the instance crashes once its
//     checks fail); without a check, exit 0 is the crash "APP/PROC/WEB:
//     Exited with status 0";
//   - stop (row gone, or held by another instance): SIGTERM, grace,
//     SIGKILL, destroy, report nothing;
//   - a RUNNING row without a container: report UnclaimActualLRP.
//
// Tasks (task.go, pure plan in task_diff.go): for each task RUNNING on the
// cell the cell creates a container (labels task_guid, kind=task; one per
// placement, TaskContainerID), runs the task's action, reads its
// result_file (≤ 50 KiB, through the optional ResultReader, else
// FileSystem, else cat in the container) when it exits 0, reports
// CompleteTask, then destroys the container. A failure before any process
// started (container creation, downloads) reports RejectTask instead. A
// task that leaves the cell (cancelled, failed by convergence) is stopped
// without a report; a task placed on the cell before this run of the cell
// started has lost its container and completes failed "task container
// does not exist". Task lines are logged under the task guid:
// [APP/TASK/<guid>] OUT ..., [CELL] OUT ....
//
// At start the cell adopts the containers an earlier run left if the
// Runtime is an Adopter, and destroys the others. On return from Run every
// container has been stopped and destroyed.
//
// Invariants:
//   - One goroutine per instance owns its container; an instance guid is
//     started at most once per Cell (a finished instance is remembered until
//     no row names it, so a stale view cannot restart it).
//   - Nothing is reported for an instance whose stop was requested or whose
//     report was refused (CodeInvalidTransition / CodeNotFound: the row has
//     moved on, and the container is stopped). Other report failures are
//     retried with backoff.
//   - The cell talks to the state only through AssignmentSource and
//     Reporter.
//
// Concurrency: Cell's methods are safe for concurrent use; Run is called
// once. LogStore is safe for concurrent use and never blocks writers.
package cell
