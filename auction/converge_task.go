package auction

import (
	"fmt"
	"time"

	"github.com/diegod/diegod/model"
)

// Diego's task convergence timings (spec §3, §9).
const (
	// DefaultTaskKickDuration is kick_task_duration: the age (since the
	// last change) after which a rejected PENDING task is auctioned again
	// and a RESOLVING task is demoted so its callback is retried.
	DefaultTaskKickDuration = 30 * time.Second
	// DefaultTaskPendingExpiry is expire_pending_task_duration: a task
	// still PENDING this long after it was created fails.
	DefaultTaskPendingExpiry = 30 * time.Minute
	// DefaultTaskCompletedExpiry is expire_completed_task_duration: a
	// COMPLETED task nobody resolved is deleted this long after it first
	// completed.
	DefaultTaskCompletedExpiry = 2 * time.Minute
)

// TaskConfig tunes the task convergence pass.
type TaskConfig struct {
	// KickDuration is the age after which a rejected PENDING task is
	// auctioned again and a RESOLVING task is demoted to COMPLETED.
	KickDuration time.Duration
	// PendingExpiry is the age (since creation) at which a PENDING task
	// fails "not started within time limit".
	PendingExpiry time.Duration
	// CompletedExpiry is the age (since first completion) at which a
	// COMPLETED task is deleted.
	CompletedExpiry time.Duration
}

// DefaultTaskConfig returns Diego's timings.
func DefaultTaskConfig() TaskConfig {
	return TaskConfig{
		KickDuration:    DefaultTaskKickDuration,
		PendingExpiry:   DefaultTaskPendingExpiry,
		CompletedExpiry: DefaultTaskCompletedExpiry,
	}
}

// Validate reports the first field out of range. It does not modify c.
func (c TaskConfig) Validate() error {
	bad := func(field string) error { return fmt.Errorf("%w: Tasks.%s must be > 0", ErrInvalidConfig, field) }
	switch {
	case c.KickDuration <= 0:
		return bad("KickDuration")
	case c.PendingExpiry <= 0:
		return bad("PendingExpiry")
	case c.CompletedExpiry <= 0:
		return bad("CompletedExpiry")
	}
	return nil
}

// TaskConvergeStats are the task counts of one pass, for metrics.
type TaskConvergeStats struct {
	Pending   int
	Running   int
	Completed int
	Resolving int
	// Kicked counts rejected PENDING tasks sent to another auction.
	Kicked int
	// Failed counts tasks failed by this pass (expired or on a lost cell).
	Failed int
	// Demoted counts RESOLVING tasks returned to COMPLETED.
	Demoted int
	// Expired counts COMPLETED tasks deleted.
	Expired int
}

// TaskConvergeResult is what one task pass decided.
type TaskConvergeResult struct {
	// Commands to propose, in task guid order; each is independent and
	// re-checked by the store.
	Commands []model.Command
	// Retry names the rejected PENDING tasks due for another auction.
	Retry []string
	// AuctionNeeded reports a PENDING task never rejected that has waited
	// longer than the kick duration: its auction was lost (skipped as
	// stale at commit), so the runner should run one.
	AuctionNeeded bool
	// NextWake is the earliest time after now at which a task becomes due
	// for one of the steps; zero when none.
	NextWake time.Time
	Stats    TaskConvergeStats
}

// ConvergeTasks is Diego's task convergence pass (spec §3) over one
// snapshot, in diegod's command catalogue. It is pure: time comes in as
// now. Per task:
//  1. PENDING created PendingExpiry ago or more → FailTask "not started
//     within time limit";
//  2. other PENDING tasks unchanged for KickDuration → auctioned again
//     (Retry for a rejected task; AuctionNeeded for one whose auction was
//     lost). Diego re-auctions every pending task on every 30 s pass;
//     diegod auctions a new task at once, on its creation event, and so
//     only needs to kick those that wait;
//  3. RUNNING on a cell that is LOST or unknown → FailTask "cell
//     disappeared before completion" (guarded by the cell id);
//  4. RESOLVING unchanged for KickDuration → DemoteResolvingTask, so the
//     callback worker tries again; or ExpireTask once it first completed
//     CompletedExpiry ago, which bounds the retries of a callback that
//     never answers (Diego leaves this corner to chance);
//  5. COMPLETED that first completed CompletedExpiry ago or more →
//     ExpireTask.
//
// Diego's step 6 (resubmit the callback of a COMPLETED task) is the
// callback worker's own periodic scan (node/task_callbacks.go).
func ConvergeTasks(s Snapshot, now time.Time, cfg TaskConfig) TaskConvergeResult {
	var res TaskConvergeResult
	present := make(map[string]bool, len(s.Cells))
	for _, c := range s.Cells {
		present[c.CellID] = c.Present()
	}
	wakeAt := func(t time.Time) {
		if t.After(now) && (res.NextWake.IsZero() || t.Before(res.NextWake)) {
			res.NextWake = t
		}
	}
	due := func(since time.Time, d time.Duration) bool {
		at := since.Add(d)
		if !now.Before(at) {
			return true
		}
		wakeAt(at)
		return false
	}
	for i := range s.Tasks {
		t := &s.Tasks[i]
		switch t.State {
		case model.TaskPending:
			res.Stats.Pending++
			if due(t.CreatedAt, cfg.PendingExpiry) {
				res.Stats.Failed++
				res.Commands = append(res.Commands, model.FailTask{TaskGUID: t.TaskGUID, Reason: model.TaskReasonNotStarted})
				continue
			}
			if !due(t.UpdatedAt, cfg.KickDuration) {
				continue
			}
			if t.RejectionReason != "" {
				res.Stats.Kicked++
				res.Retry = append(res.Retry, t.TaskGUID)
			} else {
				res.AuctionNeeded = true
			}
		case model.TaskRunning:
			res.Stats.Running++
			if !present[t.CellID] {
				res.Stats.Failed++
				res.Commands = append(res.Commands, model.FailTask{TaskGUID: t.TaskGUID, CellID: t.CellID,
					Reason: model.TaskReasonCellDisappeared})
			}
		case model.TaskResolving:
			res.Stats.Resolving++
			if !due(t.UpdatedAt, cfg.KickDuration) {
				continue
			}
			if due(t.FirstCompletedAt, cfg.CompletedExpiry) {
				res.Stats.Expired++
				res.Commands = append(res.Commands, model.ExpireTask{TaskGUID: t.TaskGUID})
			} else {
				res.Stats.Demoted++
				res.Commands = append(res.Commands, model.DemoteResolvingTask{TaskGUID: t.TaskGUID})
			}
		case model.TaskCompleted:
			res.Stats.Completed++
			if due(t.FirstCompletedAt, cfg.CompletedExpiry) {
				res.Stats.Expired++
				res.Commands = append(res.Commands, model.ExpireTask{TaskGUID: t.TaskGUID})
			}
		}
	}
	return res
}
