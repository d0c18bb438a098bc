package model

// The task commands (spec §1.3). Each maps to one lifecycle method of Task
// (task_lifecycle.go); the store applies it to the stored task and refuses
// it with CodeInvalidTransition when the task is not in a state the
// command may move.

// DesireTask stores a new PENDING task. A duplicate task guid is refused
// with CodeResourceExists.
type DesireTask struct {
	Task TaskSpec `json:"task"`
}

// TaskPlacement is one auction decision: run TaskGUID on CellID.
type TaskPlacement struct {
	TaskGUID string `json:"task_guid"`
	CellID   string `json:"cell_id"`
}

// TaskPlacementFailure is an auction decision that TaskGUID cannot be
// placed now.
type TaskPlacementFailure struct {
	TaskGUID string `json:"task_guid"`
	Error    string `json:"error"`
}

// PlaceTasks applies the task part of one auction's plan. Each placement
// starts a still-PENDING task on its cell (PENDING → RUNNING) if the cell
// is ALIVE and still has room; stale placements are skipped, not failed.
// Each failure rejects a still-PENDING task (rejection rule of
// Task.Reject).
type PlaceTasks struct {
	SnapshotIndex uint64                 `json:"snapshot_index"`
	Placements    []TaskPlacement        `json:"placements,omitempty"`
	Failures      []TaskPlacementFailure `json:"failures,omitempty"`
}

// StartTask moves a PENDING task to RUNNING on CellID (idempotent for the
// same cell).
type StartTask struct {
	TaskGUID string `json:"task_guid"`
	CellID   string `json:"cell_id"`
}

// CompleteTask reports a task's outcome from the cell that ran it.
type CompleteTask struct {
	TaskGUID      string `json:"task_guid"`
	CellID        string `json:"cell_id"`
	Failed        bool   `json:"failed"`
	FailureReason string `json:"failure_reason,omitempty"`
	Result        string `json:"result,omitempty"`
}

// CancelTask completes a PENDING or RUNNING task as failed "task was
// cancelled"; a cell running it stops its container.
type CancelTask struct {
	TaskGUID string `json:"task_guid"`
}

// FailTask completes a PENDING or RUNNING task as failed with Reason. A
// non-empty CellID requires the task to be RUNNING on that cell.
type FailTask struct {
	TaskGUID string `json:"task_guid"`
	CellID   string `json:"cell_id,omitempty"`
	Reason   string `json:"reason"`
}

// RejectTask returns a task to PENDING with its rejection count raised, or
// fails it on the rejection after MaxTaskRejections. CellID is empty for
// the auction (the task must be PENDING) and names the cell that could not
// run it otherwise (the task must be RUNNING there).
type RejectTask struct {
	TaskGUID string `json:"task_guid"`
	CellID   string `json:"cell_id,omitempty"`
	Reason   string `json:"reason"`
}

// ResolvingTask marks a COMPLETED task RESOLVING.
type ResolvingTask struct {
	TaskGUID string `json:"task_guid"`
}

// DeleteTask deletes a RESOLVING task.
type DeleteTask struct {
	TaskGUID string `json:"task_guid"`
}

// DemoteResolvingTask returns a RESOLVING task to COMPLETED (convergence,
// when its resolution stalled), so its callback is retried.
type DemoteResolvingTask struct {
	TaskGUID string `json:"task_guid"`
}

// ExpireTask deletes a COMPLETED task nobody resolved, or a RESOLVING one
// whose callback never got an answer (convergence, after the completed-task
// expiry).
type ExpireTask struct {
	TaskGUID string `json:"task_guid"`
}

// CommandName implementations.
func (DesireTask) CommandName() string          { return "desire_task" }
func (PlaceTasks) CommandName() string          { return "place_tasks" }
func (StartTask) CommandName() string           { return "start_task" }
func (CompleteTask) CommandName() string        { return "complete_task" }
func (CancelTask) CommandName() string          { return "cancel_task" }
func (FailTask) CommandName() string            { return "fail_task" }
func (RejectTask) CommandName() string          { return "reject_task" }
func (ResolvingTask) CommandName() string       { return "resolving_task" }
func (DeleteTask) CommandName() string          { return "delete_task" }
func (DemoteResolvingTask) CommandName() string { return "demote_resolving_task" }
func (ExpireTask) CommandName() string          { return "expire_task" }

func (DesireTask) command()          {}
func (PlaceTasks) command()          {}
func (StartTask) command()           {}
func (CompleteTask) command()        {}
func (CancelTask) command()          {}
func (FailTask) command()            {}
func (RejectTask) command()          {}
func (ResolvingTask) command()       {}
func (DeleteTask) command()          {}
func (DemoteResolvingTask) command() {}
func (ExpireTask) command()          {}
