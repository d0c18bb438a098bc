package model

import (
	"net/url"
	"strings"
	"time"
)

// Task limits and Diego's task constants (spec §1.3, §9).
const (
	// MaxTaskResultSize is the most bytes of a task's result (the contents
	// of its result_file): 50 KiB.
	MaxTaskResultSize = 50 * 1024
	// MaxTaskRejections is Diego's tasks.max_retries: a task rejected when
	// it has already been rejected this many times fails instead.
	MaxTaskRejections = 3
	// MaxResultFilePath bounds the length of result_file.
	MaxResultFilePath = 4096
	// MaxCallbackURLSize bounds the length of completion_callback_url.
	MaxCallbackURLSize = 2048
)

// Diego's task failure reasons.
const (
	TaskReasonCancelled       = "task was cancelled"
	TaskReasonNotStarted      = "not started within time limit"
	TaskReasonCellDisappeared = "cell disappeared before completion"
	TaskReasonNoContainer     = "task container does not exist"
)

// TaskState is the state of a task (spec §1.3).
type TaskState string

// The task states.
const (
	TaskPending   TaskState = "PENDING"
	TaskRunning   TaskState = "RUNNING"
	TaskCompleted TaskState = "COMPLETED"
	TaskResolving TaskState = "RESOLVING"
)

// Valid reports whether s is one of the four task states.
func (s TaskState) Valid() bool {
	switch s {
	case TaskPending, TaskRunning, TaskCompleted, TaskResolving:
		return true
	}
	return false
}

// ParseTaskState returns the state named s (any case) and whether it is
// one.
func ParseTaskState(s string) (TaskState, bool) {
	st := TaskState(strings.ToUpper(s))
	return st, st.Valid()
}

// TaskDefinition is what a task runs: the run fields of an LRP (no
// instances, ports, routes or health check) plus the result file and the
// completion callback.
type TaskDefinition struct {
	LogGUID       string            `json:"log_guid,omitempty"`
	MemoryMB      int               `json:"memory_mb"`
	DiskMB        int               `json:"disk_mb"`
	CPUWeight     int               `json:"cpu_weight,omitempty"`
	MaxPids       int               `json:"max_pids,omitempty"`
	RootFS        string            `json:"rootfs,omitempty"`
	Env           map[string]string `json:"env,omitempty"`
	Action        *Action           `json:"action"`
	PlacementTags []string          `json:"placement_tags,omitempty"`
	Annotation    string            `json:"annotation,omitempty"`
	LogSource     string            `json:"log_source,omitempty"`
	// ResultFile is an absolute path in the container whose contents (at
	// most MaxTaskResultSize bytes) become the task's result when its
	// action exits 0.
	ResultFile string `json:"result_file,omitempty"`
	// CompletionCallbackURL, when set, receives a POST of the task's
	// outcome once it completes (spec §1.3).
	CompletionCallbackURL string `json:"completion_callback_url,omitempty"`
}

// Resources is what the task reserves on its cell while it runs.
func (d *TaskDefinition) Resources() Resources {
	return Resources{MemoryMB: d.MemoryMB, DiskMB: d.DiskMB, Containers: 1}
}

// TaskSpec is what a consumer submits: a task guid, a domain and the
// definition (the LRP spec's field names plus task_guid, result_file and
// completion_callback_url).
type TaskSpec struct {
	TaskGUID string `json:"task_guid"`
	Domain   string `json:"domain,omitempty"`
	TaskDefinition
}

// Normalize fills in the defaults: rootfs, domain, log guid.
func (s *TaskSpec) Normalize() {
	normalizeCommon(&s.RootFS, &s.Domain, &s.LogGUID, s.TaskGUID)
}

// Validate checks the spec and returns an *Error with CodeInvalidRequest
// listing every problem, or nil.
func (s *TaskSpec) Validate() error {
	v := &ValidationError{}
	validateIdentity(v, "task_guid", s.TaskGUID, s.Domain)
	s.TaskDefinition.validate(v)
	return v.orNil()
}

func (d *TaskDefinition) validate(v *ValidationError) {
	validateRun(v, runFields{d.MemoryMB, d.DiskMB, d.CPUWeight, d.MaxPids, d.RootFS, d.Action,
		d.Annotation, d.PlacementTags, d.Env})
	if f := d.ResultFile; f != "" {
		switch {
		case len(f) > MaxResultFilePath:
			v.add("result_file: longer than %d bytes", MaxResultFilePath)
		case !strings.HasPrefix(f, "/"):
			v.add("result_file: %q must be an absolute path", f)
		case strings.ContainsRune(f, 0):
			v.add("result_file: contains a NUL byte")
		}
	}
	if u := d.CompletionCallbackURL; u != "" {
		if len(u) > MaxCallbackURLSize {
			v.add("completion_callback_url: longer than %d bytes", MaxCallbackURLSize)
		} else if p, err := url.Parse(u); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			v.add("completion_callback_url: %q is not an http or https URL", u)
		}
	}
}

// Task is a one-off unit of work and its lifecycle (spec §1.3):
// PENDING → RUNNING → COMPLETED → RESOLVING → deleted.
type Task struct {
	TaskSpec
	State TaskState `json:"state"`
	// CellID is the cell running the task (RUNNING only).
	CellID string `json:"cell_id,omitempty"`
	// Result is the contents of the result file of a task that succeeded.
	Result        string `json:"result,omitempty"`
	Failed        bool   `json:"failed"`
	FailureReason string `json:"failure_reason,omitempty"`
	// RejectionCount counts the times the task went back to PENDING
	// because it could not be placed or a cell could not run it.
	RejectionCount  int       `json:"rejection_count"`
	RejectionReason string    `json:"rejection_reason,omitempty"`
	CreatedAt       time.Time `json:"created_at"`
	UpdatedAt       time.Time `json:"updated_at"`
	// FirstCompletedAt is when the task first became COMPLETED (a demoted
	// RESOLVING task keeps it); zero before.
	FirstCompletedAt time.Time `json:"first_completed_at,omitzero"`
}

// IsPlaced reports whether the task holds a reservation on a cell.
func (t *Task) IsPlaced() bool { return t.State == TaskRunning && t.CellID != "" }

// IsFinished reports whether the task has completed (COMPLETED or
// RESOLVING).
func (t *Task) IsFinished() bool { return t.State == TaskCompleted || t.State == TaskResolving }

// Validate checks the per-state invariants of a stored task.
func (t *Task) Validate() error {
	v := &ValidationError{}
	if !ValidGUID(t.TaskGUID) {
		v.add("task_guid: %q is invalid", t.TaskGUID)
	}
	switch t.State {
	case TaskPending:
		if t.CellID != "" || t.Result != "" || t.Failed || t.FailureReason != "" {
			v.add("PENDING: cell, result and failure must be empty")
		}
	case TaskRunning:
		if t.CellID == "" {
			v.add("RUNNING: cell_id required")
		}
		if t.Result != "" || t.Failed || t.FailureReason != "" {
			v.add("RUNNING: result and failure must be empty")
		}
	case TaskCompleted, TaskResolving:
		if t.CellID != "" {
			v.add("%s: cell_id must be empty", t.State)
		}
		if t.FirstCompletedAt.IsZero() {
			v.add("%s: first_completed_at required", t.State)
		}
		if t.Failed && t.Result != "" {
			v.add("%s: a failed task has no result", t.State)
		}
	default:
		v.add("state: %q is unknown", t.State)
	}
	if len(t.Result) > MaxTaskResultSize {
		v.add("result: %d bytes, at most %d", len(t.Result), MaxTaskResultSize)
	}
	if len(t.FailureReason) > MaxReasonSize || len(t.RejectionReason) > MaxReasonSize {
		v.add("reasons: at most %d bytes", MaxReasonSize)
	}
	if t.RejectionCount < 0 || t.RejectionCount > MaxTaskRejections {
		v.add("rejection_count: %d is outside 0..%d", t.RejectionCount, MaxTaskRejections)
	}
	return v.orNil()
}

// TaskGUID returns the task guid a task event is about, or "".
func (e *Event) TaskGUID() string {
	switch {
	case e.TaskAfter != nil:
		return e.TaskAfter.TaskGUID
	case e.TaskBefore != nil:
		return e.TaskBefore.TaskGUID
	}
	return ""
}
