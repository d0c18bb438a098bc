package raftstore

import (
	"github.com/diegod/diegod/model"
)

// The task handlers (spec §1.3). Each looks the task up, asks the model's
// lifecycle method for the new value (which enforces the allowed
// transitions and the rejection rule), and stores it. A refusal changes
// nothing.

// applyDesireTask stores a new PENDING task.
func (t *applyTx) applyDesireTask(c model.DesireTask) *model.Error {
	spec := c.Task
	spec.Normalize()
	if err := spec.Validate(); err != nil {
		return asModelError(err)
	}
	if t.task(spec.TaskGUID) != nil {
		return model.Errorf(model.CodeResourceExists, "task %s already exists", spec.TaskGUID)
	}
	task := model.NewTask(spec, t.now)
	t.createTask(&task)
	return nil
}

// applyPlaceTasks applies the task part of one auction plan (STYLE rule 4:
// place optimistically, check at commit). A placement is accepted when the
// task exists and is PENDING and the cell exists, is ALIVE and has room
// for the task's Resources (LRP rows and other tasks counted); the task
// becomes RUNNING on the cell. Anything else is stale and skipped. A
// failure rejects a still-PENDING task. It returns how many placements and
// failures were skipped.
func (t *applyTx) applyPlaceTasks(c model.PlaceTasks) (skipped int, err *model.Error) {
	rooms := map[string]*cellRoom{}
	for _, p := range c.Placements {
		task := t.task(p.TaskGUID)
		if task == nil || task.State != model.TaskPending || p.CellID == "" {
			skipped++
			continue
		}
		room, ok := rooms[p.CellID]
		if !ok {
			if cell := t.cell(p.CellID); cell != nil {
				room = &cellRoom{cell: cell, free: cell.Capacity.Sub(t.allocation(cell.CellID))}
			}
			rooms[p.CellID] = room
		}
		res := task.Resources()
		if room == nil || room.cell.State != model.CellAlive || !room.free.Fits(res) {
			skipped++
			continue
		}
		after, changed, serr := task.Start(p.CellID, t.now)
		if serr != nil || !changed {
			skipped++
			continue
		}
		room.free = room.free.Sub(res)
		t.changeTask(task, &after)
	}
	for _, f := range c.Failures {
		task := t.task(f.TaskGUID)
		if task == nil || task.State != model.TaskPending {
			skipped++
			continue
		}
		after, rerr := task.Reject("", f.Error, t.now)
		if rerr != nil {
			skipped++
			continue
		}
		t.changeTask(task, &after)
	}
	return skipped, nil
}

// applyStartTask moves a PENDING task to RUNNING on a cell; starting it
// again on the same cell changes nothing.
func (t *applyTx) applyStartTask(c model.StartTask) *model.Error {
	task := t.task(c.TaskGUID)
	if task == nil {
		return taskNotFound(c.TaskGUID)
	}
	after, changed, err := task.Start(c.CellID, t.now)
	if err != nil {
		return asModelError(err)
	}
	if changed {
		t.changeTask(task, &after)
	}
	return nil
}

// applyCompleteTask records the outcome reported by the task's cell.
func (t *applyTx) applyCompleteTask(c model.CompleteTask) *model.Error {
	return t.updateTask(c.TaskGUID, func(task model.Task) (model.Task, error) {
		return task.Complete(c.CellID, c.Failed, c.FailureReason, c.Result, t.now)
	})
}

// applyCancelTask completes a PENDING or RUNNING task as cancelled.
func (t *applyTx) applyCancelTask(c model.CancelTask) *model.Error {
	return t.updateTask(c.TaskGUID, func(task model.Task) (model.Task, error) {
		return task.Cancel(t.now)
	})
}

// applyFailTask completes a PENDING or RUNNING task as failed.
func (t *applyTx) applyFailTask(c model.FailTask) *model.Error {
	return t.updateTask(c.TaskGUID, func(task model.Task) (model.Task, error) {
		return task.Fail(c.CellID, c.Reason, t.now)
	})
}

// applyRejectTask returns a task to PENDING, or fails it on its last
// allowed rejection.
func (t *applyTx) applyRejectTask(c model.RejectTask) *model.Error {
	return t.updateTask(c.TaskGUID, func(task model.Task) (model.Task, error) {
		return task.Reject(c.CellID, c.Reason, t.now)
	})
}

// applyResolvingTask marks a COMPLETED task RESOLVING.
func (t *applyTx) applyResolvingTask(c model.ResolvingTask) *model.Error {
	return t.updateTask(c.TaskGUID, func(task model.Task) (model.Task, error) {
		return task.Resolving(t.now)
	})
}

// applyDemoteResolvingTask returns a RESOLVING task to COMPLETED.
func (t *applyTx) applyDemoteResolvingTask(c model.DemoteResolvingTask) *model.Error {
	return t.updateTask(c.TaskGUID, func(task model.Task) (model.Task, error) {
		return task.Demote(t.now)
	})
}

// applyDeleteTask deletes a RESOLVING task.
func (t *applyTx) applyDeleteTask(c model.DeleteTask) *model.Error {
	task := t.task(c.TaskGUID)
	if task == nil {
		return taskNotFound(c.TaskGUID)
	}
	if err := task.CheckDelete(); err != nil {
		return asModelError(err)
	}
	t.removeTask(task)
	return nil
}

// applyExpireTask deletes a COMPLETED (or stalled RESOLVING) task.
func (t *applyTx) applyExpireTask(c model.ExpireTask) *model.Error {
	task := t.task(c.TaskGUID)
	if task == nil {
		return taskNotFound(c.TaskGUID)
	}
	if err := task.CheckExpire(); err != nil {
		return asModelError(err)
	}
	t.removeTask(task)
	return nil
}

// updateTask applies fn to the stored task of guid and stores the result.
func (t *applyTx) updateTask(guid string, fn func(model.Task) (model.Task, error)) *model.Error {
	task := t.task(guid)
	if task == nil {
		return taskNotFound(guid)
	}
	after, err := fn(*task)
	if err != nil {
		return asModelError(err)
	}
	t.changeTask(task, &after)
	return nil
}
