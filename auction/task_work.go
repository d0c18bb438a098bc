package auction

import (
	"github.com/diegod/diegod/model"
)

// PendingTaskWork returns the tasks one auction should place from s: every
// PENDING task never rejected since it became PENDING (no rejection
// reason), and the rejected ones when includeRejected is set (the cells
// changed since the last auction) or when retry names them (convergence
// found them due for another auction, spec §3 task pass step 2). A
// rejected task is otherwise left alone, so that a placement failure does
// not turn into an immediate loop of rejections. Tasks appear in snapshot
// order.
func PendingTaskWork(s Snapshot, includeRejected bool, retry map[string]bool) []Work {
	var work []Work
	for i := range s.Tasks {
		t := &s.Tasks[i]
		if t.State != model.TaskPending {
			continue
		}
		if t.RejectionReason != "" && !includeRejected && !retry[t.TaskGUID] {
			continue
		}
		work = append(work, Work{
			TaskGUID:      t.TaskGUID,
			Resources:     t.Resources(),
			RootFS:        t.RootFS,
			PlacementTags: t.PlacementTags,
		})
	}
	return work
}

// countTasks adds every task RUNNING on a known cell to its view:
// its Resources to Allocated and one to Tasks.
func countTasks(byID map[string]*CellView, tasks []model.Task) {
	for i := range tasks {
		t := &tasks[i]
		if !t.IsPlaced() {
			continue
		}
		v := byID[t.CellID]
		if v == nil {
			continue
		}
		v.Allocated = v.Allocated.Add(t.Resources())
		v.Tasks++
	}
}

// classifyTask adds the wakes a task event needs: a task that awaits
// placement (PENDING and not rejected) wakes the auction; a task that
// finished or went back to PENDING wakes convergence, which computes when
// it expires or is due for another auction.
func classifyTask(e *model.Event, w *wakeReasons) {
	t := e.TaskAfter
	if t == nil {
		return
	}
	switch {
	case t.State == model.TaskPending && t.RejectionReason == "":
		w.auction = true
	case t.State == model.TaskPending, t.IsFinished():
		w.converge = true
	}
}
