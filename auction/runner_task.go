package auction

import (
	"context"
	"sync"

	"github.com/diegod/diegod/model"
)

// Log field keys of the task pass.
const (
	logKeyTasksKicked  = "tasks_kicked"
	logKeyTasksFailed  = "tasks_failed"
	logKeyTasksExpired = "tasks_expired"
	logKeyTasksDemoted = "tasks_demoted"
)

// retrySet holds the task guids convergence sent back to the auction until
// the next auction takes them. Safe for concurrent use.
type retrySet struct {
	mu    sync.Mutex
	guids map[string]bool
}

// add merges guids into the set.
func (s *retrySet) add(guids map[string]bool) {
	if len(guids) == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.guids == nil {
		s.guids = map[string]bool{}
	}
	for g := range guids {
		s.guids[g] = true
	}
}

// take empties the set and returns what it held (nil when empty).
func (s *retrySet) take() map[string]bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.guids
	s.guids = nil
	return out
}

// proposePlan proposes the LRP part of one auction (cmd, when it holds
// anything) and its task part (a PlaceTasks built from plan) at once, so
// group commit puts them in one log entry, and waits for both. It returns
// the first error.
func (r *Runner) proposePlan(ctx context.Context, cmd model.ClaimBatch, plan Plan) error {
	tasks := model.PlaceTasks{SnapshotIndex: cmd.SnapshotIndex}
	for _, p := range plan.Placements {
		if p.TaskGUID != "" {
			tasks.Placements = append(tasks.Placements, model.TaskPlacement{TaskGUID: p.TaskGUID, CellID: p.CellID})
		}
	}
	for _, f := range plan.Failures {
		if f.Work.IsTask() {
			tasks.Failures = append(tasks.Failures, model.TaskPlacementFailure{
				TaskGUID: f.Work.TaskGUID,
				Error:    model.Truncate(f.Failure.Detail, model.MaxReasonSize),
			})
		}
	}
	var cmds []model.Command
	if len(cmd.Placements)+len(cmd.Failures) > 0 {
		cmds = append(cmds, cmd)
	}
	if len(tasks.Placements)+len(tasks.Failures) > 0 {
		cmds = append(cmds, tasks)
	}
	errs := make([]error, len(cmds))
	var wg sync.WaitGroup
	for i, c := range cmds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := r.prop.Propose(ctx, c); err != nil {
				r.rec.ProposalFailed(c.CommandName(), model.CodeOf(err))
				errs[i] = err
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// withTaskPass runs the task convergence pass on snap and merges it into
// the LRP pass's result: its commands, its next wake, and whether an
// auction is needed (rejected tasks due for another auction are handed to
// the next one).
func (r *Runner) withTaskPass(snap Snapshot, res ConvergeResult) ConvergeResult {
	tr := ConvergeTasks(snap, r.clock.Now(), r.cfg.Tasks)
	res.Commands = append(res.Commands, tr.Commands...)
	if !tr.NextWake.IsZero() && (res.NextWake.IsZero() || tr.NextWake.Before(res.NextWake)) {
		res.NextWake = tr.NextWake
	}
	if len(tr.Retry) > 0 {
		retry := make(map[string]bool, len(tr.Retry))
		for _, g := range tr.Retry {
			retry[g] = true
		}
		r.retryTasks.add(retry)
		res.AuctionNeeded = true
	}
	res.AuctionNeeded = res.AuctionNeeded || tr.AuctionNeeded
	if len(tr.Commands) > 0 || tr.Stats.Kicked > 0 {
		r.log.Info().
			Int(logKeyTasksKicked, tr.Stats.Kicked).
			Int(logKeyTasksFailed, tr.Stats.Failed).
			Int(logKeyTasksExpired, tr.Stats.Expired).
			Int(logKeyTasksDemoted, tr.Stats.Demoted).
			Msg("task convergence")
	}
	return res
}
