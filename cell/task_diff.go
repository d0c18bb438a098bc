package cell

import (
	"sort"
	"strconv"
	"time"

	"github.com/diegod/diegod/model"
)

// TaskActionKind names what the cell must do for a task.
type TaskActionKind string

// The task action kinds DiffTasks returns.
const (
	// TaskActionStart: create a container for a task RUNNING on this cell
	// and run its action.
	TaskActionStart TaskActionKind = "start"
	// TaskActionStop: the placement left this cell while its container
	// runs (the task was cancelled, failed by convergence or deleted):
	// stop the container (SIGTERM, grace, SIGKILL) and destroy it. Nothing
	// is reported: the store has already moved the task on.
	TaskActionStop TaskActionKind = "stop"
	// TaskActionOrphan: a task RUNNING on this cell since before the cell
	// started, without a container (the agent restarted): report it
	// completed as failed "task container does not exist" (spec §6.2).
	TaskActionOrphan TaskActionKind = "orphan"
	// TaskActionForget: drop a finished run from memory once its placement
	// has left the cell.
	TaskActionForget TaskActionKind = "forget"
)

// ObservedTask is what the cell knows of one task run it holds, keyed by
// container id in DiffTasks' input.
type ObservedTask struct {
	TaskGUID string
	Phase    Phase
}

// TaskAction is one step of the task plan DiffTasks returns.
type TaskAction struct {
	Kind        TaskActionKind
	TaskGUID    string
	ContainerID string
	// Task is the assigned task (start and orphan).
	Task model.Task
}

// TaskContainerID is the container id of one placement of a task: the task
// guid, with "-r<rejection count>" once the task was rejected. A task goes
// back to a cell only after a rejection, which raises its count, so each
// placement gets its own container and a new one never waits for the old
// one to be destroyed.
func TaskContainerID(t model.Task) string {
	if t.RejectionCount == 0 {
		return t.TaskGUID
	}
	return t.TaskGUID + "-r" + strconv.Itoa(t.RejectionCount)
}

// DiffTasks compares the tasks assigned to cellID with the runs the cell
// holds and returns what to do, sorted by container id. It is pure.
// startedAt is when this run of the cell started: a placement the cell
// does not hold that was made before then (UpdatedAt earlier) ran in an
// earlier run of the agent, and its container is gone.
//
// Rules: an assigned placement without a run → start (or orphan); an
// active run whose placement is not assigned → stop; a finished run whose
// placement is not assigned → forget; anything else is left alone.
func DiffTasks(assigned []model.Task, observed map[string]ObservedTask, cellID string, startedAt time.Time) []TaskAction {
	mine := make(map[string]bool, len(assigned))
	var plan []TaskAction
	for _, t := range assigned {
		if t.State != model.TaskRunning || t.CellID != cellID {
			continue
		}
		id := TaskContainerID(t)
		if mine[id] {
			continue
		}
		mine[id] = true
		if _, held := observed[id]; held {
			continue
		}
		kind := TaskActionStart
		if t.UpdatedAt.Before(startedAt) {
			kind = TaskActionOrphan
		}
		plan = append(plan, TaskAction{Kind: kind, TaskGUID: t.TaskGUID, ContainerID: id, Task: t})
	}
	for id, o := range observed {
		if mine[id] {
			continue
		}
		switch o.Phase {
		case PhaseActive:
			plan = append(plan, TaskAction{Kind: TaskActionStop, TaskGUID: o.TaskGUID, ContainerID: id})
		case PhaseFinished:
			plan = append(plan, TaskAction{Kind: TaskActionForget, TaskGUID: o.TaskGUID, ContainerID: id})
		}
	}
	sort.Slice(plan, func(i, j int) bool { return plan[i].ContainerID < plan[j].ContainerID })
	return plan
}
