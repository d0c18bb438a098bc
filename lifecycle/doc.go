// Package lifecycle is what runs inside and around a container: Diego's
// action steps (run, download, serial, parallel, codependent, timeout, try),
// the health checks (tcp, http, exec) and the health Monitor that decides
// when an instance is healthy and when it has become unhealthy.
//
// lifecycle knows nothing of Raft, the auction or the container runtime: it
// starts processes through the small ProcessRunner interface and unpacks
// downloads through Extractor, both supplied by the cell. It does not
// import package cell (cell imports lifecycle).
//
// Invariants:
//   - A Step's Run returns only when all the work it started has stopped:
//     processes are signalled (SIGTERM, then SIGKILL after the grace) and
//     waited for, child steps are waited for.
//   - A cancelled step returns an error for which IsCancelled is true; a
//     failed step returns an error whose Reason is what a user sees (Diego's
//     wording: "APP/PROC/WEB: Exited with status 1", "Instance never healthy
//     after 1m0s: ...", "Instance became unhealthy: ...", "timed out after
//     1s").
//
// Concurrency: steps are safe to run once each; a step value is not meant
// to be run twice at the same time. Composite steps run their children in
// their own goroutines and wait for them before returning. Callbacks
// (Monitor.OnHealthy, Monitor.OnFailure, Try's onError) run on the step's
// goroutine and must not block for long.
package lifecycle
