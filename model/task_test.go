package model

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

var taskNow = time.Date(2026, 2, 3, 4, 5, 6, 0, time.UTC)

func validTaskSpec() TaskSpec {
	s := TaskSpec{TaskGUID: "t-1", TaskDefinition: TaskDefinition{
		MemoryMB: 64, DiskMB: 64,
		Action:     &Action{Run: &RunAction{Path: "/bin/sh", Args: []string{"-c", "echo 42 > /tmp/out"}}},
		ResultFile: "/tmp/out", CompletionCallbackURL: "http://127.0.0.1:9/cb",
	}}
	s.Normalize()
	return s
}

func TestTaskSpecValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*TaskSpec)
		want   string // "" = valid
	}{
		{"valid", func(*TaskSpec) {}, ""},
		{"no guid", func(s *TaskSpec) { s.TaskGUID = "" }, "task_guid: required"},
		{"bad guid", func(s *TaskSpec) { s.TaskGUID = "a b" }, "task_guid"},
		{"bad domain", func(s *TaskSpec) { s.Domain = "a/b" }, "domain"},
		{"no action", func(s *TaskSpec) { s.Action = nil }, "action: required"},
		{"empty action", func(s *TaskSpec) { s.Action = &Action{} }, "action: must have one of"},
		{"negative memory", func(s *TaskSpec) { s.MemoryMB = -1 }, "memory_mb"},
		{"huge disk", func(s *TaskSpec) { s.DiskMB = MaxDiskMB + 1 }, "disk_mb"},
		{"bad rootfs", func(s *TaskSpec) { s.RootFS = "ftp://x" }, "rootfs"},
		{"relative result file", func(s *TaskSpec) { s.ResultFile = "tmp/out" }, "result_file"},
		{"bad callback scheme", func(s *TaskSpec) { s.CompletionCallbackURL = "ftp://h/x" }, "completion_callback_url"},
		{"callback without host", func(s *TaskSpec) { s.CompletionCallbackURL = "http:///x" }, "completion_callback_url"},
		{"big annotation", func(s *TaskSpec) { s.Annotation = strings.Repeat("a", MaxAnnotationSize+1) }, "annotation"},
		{"bad env", func(s *TaskSpec) { s.Env = map[string]string{"A=B": "x"} }, "env"},
		{"empty tag", func(s *TaskSpec) { s.PlacementTags = []string{""} }, "placement_tags"},
	}
	for _, tt := range tests {
		s := validTaskSpec()
		tt.change(&s)
		err := s.Validate()
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: got %v, want valid", tt.name, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s: got %v, want an error containing %q", tt.name, err, tt.want)
		case err != nil && CodeOf(err) != CodeInvalidRequest:
			t.Errorf("%s: code %q, want %q", tt.name, CodeOf(err), CodeInvalidRequest)
		}
	}
}

func TestTaskSpecNormalizeAndJSON(t *testing.T) {
	s := TaskSpec{TaskGUID: "job"}
	s.Normalize()
	if s.RootFS != DefaultRootFS || s.Domain != "default" || s.LogGUID != "job" {
		t.Errorf("normalize: got rootfs %q domain %q log_guid %q", s.RootFS, s.Domain, s.LogGUID)
	}
	// The spec's fields are flat in JSON, with the LRP spec's names.
	task := NewTask(validTaskSpec(), taskNow)
	b, err := json.Marshal(task)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{`"task_guid":"t-1"`, `"memory_mb":64`, `"result_file":"/tmp/out"`,
		`"completion_callback_url"`, `"state":"PENDING"`, `"rejection_count":0`} {
		if !strings.Contains(string(b), k) {
			t.Errorf("JSON %s: missing %s", b, k)
		}
	}
	if strings.Contains(string(b), "first_completed_at") {
		t.Errorf("JSON of a pending task has first_completed_at: %s", b)
	}
	var back Task
	if err := json.Unmarshal(b, &back); err != nil || back.TaskGUID != "t-1" || back.Action.Run.Path != "/bin/sh" {
		t.Errorf("round trip: got %+v, %v", back, err)
	}
}

func TestTaskTransitionTable(t *testing.T) {
	states := []TaskState{TaskPending, TaskRunning, TaskCompleted, TaskResolving}
	want := map[TaskState][]TaskState{
		TaskPending:   {TaskPending, TaskRunning, TaskCompleted},
		TaskRunning:   {TaskPending, TaskRunning, TaskCompleted},
		TaskCompleted: {TaskResolving},
		TaskResolving: {TaskCompleted},
	}
	for _, from := range states {
		for _, to := range states {
			w := false
			for _, s := range want[from] {
				w = w || s == to
			}
			if got := TaskTransitionAllowed(from, to); got != w {
				t.Errorf("%s -> %s: got %v, want %v", from, to, got, w)
			}
		}
	}
}

// taskIn returns a valid task in state st (RUNNING on cell-1).
func taskIn(st TaskState) Task {
	task := NewTask(validTaskSpec(), taskNow)
	switch st {
	case TaskRunning:
		task.State, task.CellID = TaskRunning, "cell-1"
	case TaskCompleted, TaskResolving:
		task.State, task.FirstCompletedAt = st, taskNow
	}
	return task
}

// TestTaskCommandTransitions checks every lifecycle method from every
// state: allowed ones give the expected state, refused ones
// CodeInvalidTransition and an unchanged task.
func TestTaskCommandTransitions(t *testing.T) {
	later := taskNow.Add(time.Minute)
	type op struct {
		name string
		do   func(Task) (Task, error)
	}
	ops := []op{
		{"start cell-1", func(x Task) (Task, error) { a, _, err := x.Start("cell-1", later); return a, err }},
		{"start cell-2", func(x Task) (Task, error) { a, _, err := x.Start("cell-2", later); return a, err }},
		{"complete cell-1", func(x Task) (Task, error) { return x.Complete("cell-1", false, "", "42", later) }},
		{"complete cell-2", func(x Task) (Task, error) { return x.Complete("cell-2", false, "", "42", later) }},
		{"cancel", func(x Task) (Task, error) { return x.Cancel(later) }},
		{"fail", func(x Task) (Task, error) { return x.Fail("", "boom", later) }},
		{"fail cell-1", func(x Task) (Task, error) { return x.Fail("cell-1", "boom", later) }},
		{"reject auction", func(x Task) (Task, error) { return x.Reject("", "no room", later) }},
		{"reject cell-1", func(x Task) (Task, error) { return x.Reject("cell-1", "no rootfs", later) }},
		{"reject cell-2", func(x Task) (Task, error) { return x.Reject("cell-2", "no rootfs", later) }},
		{"resolving", func(x Task) (Task, error) { return x.Resolving(later) }},
		{"demote", func(x Task) (Task, error) { return x.Demote(later) }},
		{"delete", func(x Task) (Task, error) { return x, x.CheckDelete() }},
		{"expire", func(x Task) (Task, error) { return x, x.CheckExpire() }},
	}
	// want[op][from] = resulting state, "" = refused.
	want := map[string]map[TaskState]TaskState{
		"start cell-1":    {TaskPending: TaskRunning, TaskRunning: TaskRunning},
		"start cell-2":    {TaskPending: TaskRunning},
		"complete cell-1": {TaskRunning: TaskCompleted},
		"complete cell-2": {},
		"cancel":          {TaskPending: TaskCompleted, TaskRunning: TaskCompleted},
		"fail":            {TaskPending: TaskCompleted, TaskRunning: TaskCompleted},
		"fail cell-1":     {TaskRunning: TaskCompleted},
		"reject auction":  {TaskPending: TaskPending},
		"reject cell-1":   {TaskRunning: TaskPending},
		"reject cell-2":   {},
		"resolving":       {TaskCompleted: TaskResolving},
		"demote":          {TaskResolving: TaskCompleted},
		"delete":          {TaskResolving: TaskResolving},
		"expire":          {TaskCompleted: TaskCompleted, TaskResolving: TaskResolving},
	}
	for _, o := range ops {
		for _, from := range []TaskState{TaskPending, TaskRunning, TaskCompleted, TaskResolving} {
			before := taskIn(from)
			after, err := o.do(before)
			w := want[o.name][from]
			if w == "" {
				if CodeOf(err) != CodeInvalidTransition {
					t.Errorf("%s from %s: got %v, want invalid_transition", o.name, from, err)
				}
				continue
			}
			if err != nil {
				t.Errorf("%s from %s: got %v, want %s", o.name, from, err, w)
				continue
			}
			if after.State != w {
				t.Errorf("%s from %s: got %s, want %s", o.name, from, after.State, w)
			}
			if !TaskTransitionAllowed(from, after.State) && o.name != "delete" && o.name != "expire" {
				t.Errorf("%s from %s to %s: not in the transition table", o.name, from, after.State)
			}
			if verr := after.Validate(); verr != nil {
				t.Errorf("%s from %s: result invalid: %v", o.name, from, verr)
			}
		}
	}
}

func TestTaskCommandEffects(t *testing.T) {
	later := taskNow.Add(time.Minute)
	run := taskIn(TaskRunning)

	done, err := run.Complete("cell-1", false, "", "42", later)
	if err != nil || done.Result != "42" || done.Failed || done.CellID != "" ||
		!done.FirstCompletedAt.Equal(later) || !done.UpdatedAt.Equal(later) || !done.CreatedAt.Equal(taskNow) {
		t.Errorf("complete: got %+v, %v", done, err)
	}
	failed, _ := run.Complete("cell-1", true, strings.Repeat("r", 2000), "ignored", later)
	if !failed.Failed || failed.Result != "" || len(failed.FailureReason) != MaxReasonSize {
		t.Errorf("complete failed: got failed=%v result=%q reason %d bytes", failed.Failed, failed.Result, len(failed.FailureReason))
	}
	if _, err := run.Complete("cell-1", false, "", strings.Repeat("x", MaxTaskResultSize+1), later); CodeOf(err) != CodeInvalidRequest {
		t.Errorf("complete with a result over 50 KiB: got %v, want invalid_request", err)
	}
	if _, err := run.Complete("cell-1", false, "", strings.Repeat("x", MaxTaskResultSize), later); err != nil {
		t.Errorf("complete with a 50 KiB result: got %v", err)
	}

	cancelled, _ := run.Cancel(later)
	if !cancelled.Failed || cancelled.FailureReason != TaskReasonCancelled || cancelled.CellID != "" {
		t.Errorf("cancel: got %+v", cancelled)
	}
	if _, changed, err := run.Start("cell-1", later); err != nil || changed {
		t.Errorf("start again on the same cell: got changed=%v err=%v, want a no-op", changed, err)
	}
	if _, _, err := taskIn(TaskPending).Start("", later); CodeOf(err) != CodeInvalidRequest {
		t.Errorf("start without a cell: got %v, want invalid_request", err)
	}

	// Demoting keeps first_completed_at.
	res, _ := done.Resolving(later.Add(time.Minute))
	back, _ := res.Demote(later.Add(2 * time.Minute))
	if !back.FirstCompletedAt.Equal(later) || back.State != TaskCompleted || back.Result != "42" {
		t.Errorf("demote: got %+v", back)
	}
}

// TestTaskRejectionCount checks Diego's rule: a rejected task goes back to
// PENDING with its count raised while the count before the rejection is
// below 3; the 4th rejection fails it with the reason (spec §1.3, §5.5).
func TestTaskRejectionCount(t *testing.T) {
	task := taskIn(TaskPending)
	at := taskNow
	for i := 1; i <= MaxTaskRejections; i++ {
		at = at.Add(time.Second)
		var err error
		if i%2 == 0 { // rejected by a cell it was placed on
			task, _, _ = task.Start("cell-1", at)
			task, err = task.Reject("cell-1", "cell could not run it", at)
		} else { // rejected by the auction
			task, err = task.Reject("", "insufficient resources: memory", at)
		}
		if err != nil {
			t.Fatalf("rejection %d: %v", i, err)
		}
		if task.State != TaskPending || task.RejectionCount != i || task.Failed || task.CellID != "" {
			t.Fatalf("rejection %d: got %s count %d failed %v cell %q, want PENDING count %d",
				i, task.State, task.RejectionCount, task.Failed, task.CellID, i)
		}
	}
	task, err := task.Reject("", "insufficient resources: memory", at.Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if task.State != TaskCompleted || !task.Failed || task.FailureReason != "insufficient resources: memory" ||
		task.RejectionCount != MaxTaskRejections {
		t.Errorf("4th rejection: got %s failed %v reason %q count %d; want COMPLETED failed with the reason, count %d",
			task.State, task.Failed, task.FailureReason, task.RejectionCount, MaxTaskRejections)
	}
	empty, _ := taskIn(TaskPending).Reject("", "", taskNow)
	if empty.RejectionReason != DefaultRejectionReason {
		t.Errorf("reject without a reason: got %q, want %q", empty.RejectionReason, DefaultRejectionReason)
	}
}

func TestTaskValidate(t *testing.T) {
	bad := []Task{
		func() Task { x := taskIn(TaskPending); x.CellID = "c"; return x }(),
		func() Task { x := taskIn(TaskRunning); x.CellID = ""; return x }(),
		func() Task { x := taskIn(TaskCompleted); x.FirstCompletedAt = time.Time{}; return x }(),
		func() Task { x := taskIn(TaskCompleted); x.Failed, x.Result = true, "r"; return x }(),
		func() Task { x := taskIn(TaskPending); x.State = "DONE"; return x }(),
		func() Task { x := taskIn(TaskPending); x.RejectionCount = 4; return x }(),
	}
	for i, x := range bad {
		if err := x.Validate(); err == nil {
			t.Errorf("bad task %d (%s): got valid", i, x.State)
		}
	}
	for _, st := range []TaskState{TaskPending, TaskRunning, TaskCompleted, TaskResolving} {
		x := taskIn(st)
		if err := x.Validate(); err != nil {
			t.Errorf("%s task: %v", st, err)
		}
	}
}

func TestTaskLogPrefixAndEvents(t *testing.T) {
	l := LogLine{Source: LogSourceTask + "/job", Index: LogNoIndex, Stream: StreamOut}
	if got, want := l.Prefix(), "[APP/TASK/job] OUT"; got != want {
		t.Errorf("task prefix: got %q, want %q", got, want)
	}
	l = LogLine{Source: LogSourceApp, Index: 2, Stream: StreamErr}
	if got, want := l.Prefix(), "[APP/PROC/WEB/2] ERR"; got != want {
		t.Errorf("lrp prefix: got %q, want %q", got, want)
	}
	before, after := taskIn(TaskRunning), taskIn(TaskCompleted)
	ev := Event{Type: EventTaskChanged, TaskBefore: &before, TaskAfter: &after}
	if ev.TaskGUID() != "t-1" || ev.CellID() != "cell-1" {
		t.Errorf("event: got task %q cell %q, want t-1 and cell-1", ev.TaskGUID(), ev.CellID())
	}
	if st, ok := ParseTaskState("running"); !ok || st != TaskRunning {
		t.Errorf("ParseTaskState(running): got %q %v", st, ok)
	}
	if _, ok := ParseTaskState("done"); ok {
		t.Error("ParseTaskState(done): got valid")
	}
}
