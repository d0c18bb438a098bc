package auction_test

import (
	"testing"
	"time"

	"github.com/diegod/diegod/auction"
	"github.com/diegod/diegod/auction/auctiontest"
	"github.com/diegod/diegod/model"
)

func pendingTask(guid string, memMB int, now time.Time) model.Task {
	spec := model.TaskSpec{TaskGUID: guid, TaskDefinition: model.TaskDefinition{
		MemoryMB: memMB, DiskMB: 1, Action: &model.Action{Run: &model.RunAction{Path: "/bin/true"}},
	}}
	spec.Normalize()
	return model.NewTask(spec, now)
}

func (h *harness) task(guid string) (model.Task, bool) {
	for _, t := range h.src.Snapshot().Tasks {
		if t.TaskGUID == guid {
			return t, true
		}
	}
	return model.Task{}, false
}

func taskCell(id string, memMB int) model.Cell {
	return model.Cell{CellID: id, Zone: "z1", State: model.CellAlive, RootFSProviders: []string{"host"},
		Capacity: model.Resources{MemoryMB: memMB, DiskMB: 1000, Containers: 100}}
}

// TestRunnerPlacesTasksAndAppliesTheRejectionRule: the auction places what
// fits through PlaceTasks; a task that does not fit is rejected, kicked
// back into the auction by convergence after the kick duration, and fails
// on its 4th rejection (spec §5.5).
func TestRunnerPlacesTasksAndAppliesTheRejectionRule(t *testing.T) {
	now := time.Now()
	snap := auction.Snapshot{
		Cells: []model.Cell{taskCell("c1", 100)},
		Tasks: []model.Task{pendingTask("fits", 60, now), pendingTask("too-big", 60, now)},
	}
	h := startRunner(t, snap, func(c *auction.Config) {
		c.Tasks.KickDuration = 20 * time.Millisecond
	})
	waitFor(t, 10*time.Second, "too-big to fail", func() bool {
		tk, _ := h.task("too-big")
		return tk.State == model.TaskCompleted
	})
	fits, _ := h.task("fits")
	if fits.State != model.TaskRunning || fits.CellID != "c1" {
		t.Errorf("fits: got %s on %q, want RUNNING on c1", fits.State, fits.CellID)
	}
	big, _ := h.task("too-big")
	if !big.Failed || big.FailureReason != "insufficient resources: memory" || big.RejectionCount != model.MaxTaskRejections {
		t.Errorf("too-big: got failed %v reason %q count %d; want failed with the placement error after %d rejections",
			big.Failed, big.FailureReason, big.RejectionCount, model.MaxTaskRejections)
	}
	places := auctiontest.Filter[model.PlaceTasks](h.prop.Commands())
	failures := 0
	for _, p := range places {
		failures += len(p.Failures)
	}
	if failures != model.MaxTaskRejections+1 {
		t.Errorf("placement failures proposed: got %d, want %d (3 rejections, then the failing one)", failures, model.MaxTaskRejections+1)
	}
	if n := len(auctiontest.Filter[model.ClaimBatch](h.prop.Commands())); n != 0 {
		t.Errorf("claim batches without LRP work: got %d, want 0", n)
	}
}

// TestRunnerFailsTasksOfLostCells: a RUNNING task whose cell is marked
// LOST fails "cell disappeared before completion".
func TestRunnerFailsTasksOfLostCells(t *testing.T) {
	now := time.Now()
	snap := auction.Snapshot{
		Cells: []model.Cell{taskCell("c1", 1000)},
		Tasks: []model.Task{pendingTask("job", 10, now)},
	}
	h := startRunner(t, snap, nil)
	waitFor(t, 5*time.Second, "job to run", func() bool {
		tk, _ := h.task("job")
		return tk.State == model.TaskRunning
	})
	if err := h.src.ApplyCommand(model.SetCellState{CellID: "c1", State: model.CellLost}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "job to fail", func() bool {
		tk, _ := h.task("job")
		return tk.State == model.TaskCompleted
	})
	tk, _ := h.task("job")
	if !tk.Failed || tk.FailureReason != model.TaskReasonCellDisappeared {
		t.Errorf("job: got failed %v reason %q, want %q", tk.Failed, tk.FailureReason, model.TaskReasonCellDisappeared)
	}
}

// TestRunnerExpiresTasks: with short timings, a task that never starts
// fails "not started within time limit", and a completed one is deleted.
func TestRunnerExpiresTasks(t *testing.T) {
	now := time.Now()
	done := pendingTask("done", 10, now)
	done.State, done.Result, done.FirstCompletedAt = model.TaskCompleted, "42", now
	snap := auction.Snapshot{
		Cells: nil, // nowhere to run: the pending task is rejected until it expires
		Tasks: []model.Task{pendingTask("stuck", 10, now), done},
	}
	h := startRunner(t, snap, func(c *auction.Config) {
		c.Tasks = auction.TaskConfig{KickDuration: time.Hour, PendingExpiry: 50 * time.Millisecond, CompletedExpiry: 80 * time.Millisecond}
	})
	waitFor(t, 5*time.Second, "stuck to expire and done to be deleted", func() bool {
		stuck, _ := h.task("stuck")
		_, doneThere := h.task("done")
		return stuck.State == model.TaskCompleted && !doneThere
	})
	stuck, _ := h.task("stuck")
	if stuck.FailureReason != model.TaskReasonNotStarted {
		t.Errorf("stuck: got reason %q, want %q", stuck.FailureReason, model.TaskReasonNotStarted)
	}
}
