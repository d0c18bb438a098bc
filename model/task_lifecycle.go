package model

import "time"

// DefaultRejectionReason is stored when a rejection carries no text.
const DefaultRejectionReason = "task was rejected"

// taskTransitions is Diego's task state machine (spec §1.3): from → the
// states a command may move a task to. Deletion is not a state: it is
// allowed from RESOLVING (DeleteTask) and from COMPLETED or a stalled
// RESOLVING (expiry).
//
//	PENDING   → RUNNING (start), PENDING (rejected), COMPLETED (cancel, fail, last rejection)
//	RUNNING   → RUNNING (start again on the same cell: a no-op), PENDING (rejected),
//	            COMPLETED (complete, cancel, fail, last rejection)
//	COMPLETED → RESOLVING
//	RESOLVING → COMPLETED (demoted by convergence, so the callback is retried)
var taskTransitions = map[TaskState]map[TaskState]bool{
	TaskPending:   {TaskPending: true, TaskRunning: true, TaskCompleted: true},
	TaskRunning:   {TaskPending: true, TaskRunning: true, TaskCompleted: true},
	TaskCompleted: {TaskResolving: true},
	TaskResolving: {TaskCompleted: true},
}

// TaskTransitionAllowed reports whether a task in from may move to to.
func TaskTransitionAllowed(from, to TaskState) bool { return taskTransitions[from][to] }

func taskTransitionError(t *Task, op string) *Error {
	return Errorf(CodeInvalidTransition, "task %s is %s, cannot %s", t.TaskGUID, t.State, op)
}

// NewTask returns the PENDING task a spec creates at now. The spec should
// be normalized and valid.
func NewTask(spec TaskSpec, now time.Time) Task {
	return Task{TaskSpec: spec, State: TaskPending, CreatedAt: now, UpdatedAt: now}
}

// Start moves a PENDING task to RUNNING on cellID. Starting a task that
// already runs on cellID changes nothing (changed is false); any other
// state, or another cell, is refused with CodeInvalidTransition.
func (t Task) Start(cellID string, now time.Time) (after Task, changed bool, err error) {
	if cellID == "" {
		return t, false, Errorf(CodeInvalidRequest, "start task %s: cell_id required", t.TaskGUID)
	}
	switch {
	case t.State == TaskRunning && t.CellID == cellID:
		return t, false, nil
	case t.State != TaskPending:
		return t, false, taskTransitionError(&t, "start on cell "+cellID)
	}
	t.State = TaskRunning
	t.CellID = cellID
	t.UpdatedAt = now
	return t, true, nil
}

// complete makes t COMPLETED with the outcome; the cell is cleared.
func (t Task) complete(failed bool, reason, result string, now time.Time) Task {
	t.State = TaskCompleted
	t.CellID = ""
	t.Failed = failed
	t.FailureReason = ""
	t.Result = ""
	if failed {
		t.FailureReason = Truncate(reason, MaxReasonSize)
	} else {
		t.Result = result
	}
	t.UpdatedAt = now
	if t.FirstCompletedAt.IsZero() {
		t.FirstCompletedAt = now
	}
	return t
}

// Complete records the outcome reported by the cell that runs the task:
// RUNNING on cellID → COMPLETED. A failed task keeps no result; a result
// larger than MaxTaskResultSize is refused (the cell fails the task
// instead).
func (t Task) Complete(cellID string, failed bool, reason, result string, now time.Time) (Task, error) {
	if t.State != TaskRunning || t.CellID != cellID || cellID == "" {
		return t, taskTransitionError(&t, "complete from cell "+cellID)
	}
	if !failed && len(result) > MaxTaskResultSize {
		return t, Errorf(CodeInvalidRequest, "complete task %s: result is %d bytes, at most %d", t.TaskGUID, len(result), MaxTaskResultSize)
	}
	return t.complete(failed, reason, result, now), nil
}

// Cancel completes a PENDING or RUNNING task as failed "task was
// cancelled". The cell that ran it sees it gone and stops its container.
func (t Task) Cancel(now time.Time) (Task, error) {
	if t.State != TaskPending && t.State != TaskRunning {
		return t, taskTransitionError(&t, "cancel")
	}
	return t.complete(true, TaskReasonCancelled, "", now), nil
}

// Fail completes a PENDING or RUNNING task as failed with reason. A
// non-empty cellID is a precondition: the task must be RUNNING on that
// cell (convergence failing the task of a lost cell must not fail a task
// that has since moved elsewhere).
func (t Task) Fail(cellID, reason string, now time.Time) (Task, error) {
	if t.State != TaskPending && t.State != TaskRunning {
		return t, taskTransitionError(&t, "fail")
	}
	if cellID != "" && (t.State != TaskRunning || t.CellID != cellID) {
		return t, taskTransitionError(&t, "fail on cell "+cellID)
	}
	return t.complete(true, reason, "", now), nil
}

// Reject returns a task that could not be placed (cellID empty: the
// auction; the task must be PENDING) or could not be run by the cell it was
// placed on (cellID set: the task must be RUNNING there) to PENDING, with
// rejection_count + 1 and the reason. When the task was already rejected
// MaxTaskRejections times, it is completed as failed with the reason
// instead (spec §1.3, §5.5: the 4th rejection fails it).
func (t Task) Reject(cellID, reason string, now time.Time) (Task, error) {
	switch {
	case cellID == "" && t.State == TaskPending:
	case cellID != "" && t.State == TaskRunning && t.CellID == cellID:
	default:
		who := "the auction"
		if cellID != "" {
			who = "cell " + cellID
		}
		return t, taskTransitionError(&t, "be rejected by "+who)
	}
	if reason == "" {
		reason = DefaultRejectionReason
	}
	reason = Truncate(reason, MaxReasonSize)
	if t.RejectionCount >= MaxTaskRejections {
		return t.complete(true, reason, "", now), nil
	}
	t.State = TaskPending
	t.CellID = ""
	t.RejectionCount++
	t.RejectionReason = reason
	t.UpdatedAt = now
	return t, nil
}

// Resolving marks a COMPLETED task RESOLVING: its consumer (or the
// callback worker) is handling the outcome.
func (t Task) Resolving(now time.Time) (Task, error) {
	if t.State != TaskCompleted {
		return t, taskTransitionError(&t, "start resolving")
	}
	t.State = TaskResolving
	t.UpdatedAt = now
	return t, nil
}

// Demote returns a RESOLVING task to COMPLETED (convergence, when its
// resolution stalled), so the callback is tried again.
func (t Task) Demote(now time.Time) (Task, error) {
	if t.State != TaskResolving {
		return t, taskTransitionError(&t, "be demoted to COMPLETED")
	}
	t.State = TaskCompleted
	t.UpdatedAt = now
	return t, nil
}

// CheckDelete reports whether the task may be deleted by DeleteTask: only
// a RESOLVING task may.
func (t *Task) CheckDelete() error {
	if t.State != TaskResolving {
		return taskTransitionError(t, "be deleted (resolve it first)")
	}
	return nil
}

// CheckExpire reports whether the task may be deleted by expiry: a
// COMPLETED task, or a RESOLVING one whose resolution stalled (convergence
// decides when).
func (t *Task) CheckExpire() error {
	if t.State != TaskCompleted && t.State != TaskResolving {
		return taskTransitionError(t, "expire")
	}
	return nil
}
