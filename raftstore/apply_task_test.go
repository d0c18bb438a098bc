package raftstore

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/diegod/diegod/model"
	"github.com/rs/zerolog"
)

// taskSpec returns a valid task spec reserving memMB of memory.
func taskSpec(guid string, memMB int) model.TaskSpec {
	return model.TaskSpec{TaskGUID: guid, TaskDefinition: model.TaskDefinition{
		MemoryMB: memMB, DiskMB: 16,
		Action: &model.Action{Run: &model.RunAction{Path: "/bin/true"}},
	}}
}

// checkTasks fails the test if a stored task breaks the model's per-state
// invariants.
func checkTasks(t *testing.T, h *fsmHarness) {
	t.Helper()
	t.Cleanup(func() {
		for _, task := range h.fsm.View().Tasks() {
			if err := task.Validate(); err != nil {
				t.Errorf("consistency: task %s (%s) invalid: %v", task.TaskGUID, task.State, err)
			}
		}
	})
}

func (h *fsmHarness) task(guid string) model.Task {
	h.t.Helper()
	task, ok := h.fsm.View().Task(guid)
	if !ok {
		h.t.Fatalf("task %s: missing", guid)
	}
	return task
}

func place(guid, cellID string) model.PlaceTasks {
	return model.PlaceTasks{Placements: []model.TaskPlacement{{TaskGUID: guid, CellID: cellID}}}
}

func TestTaskLifecycleThroughFSM(t *testing.T) {
	h := newHarness(t)
	checkTasks(t, h)
	h.ok(model.UpsertCell{Cell: cell("c1", 1024)}, model.UpsertCell{Cell: cell("c2", 1024)})
	sub := h.fsm.Hub().Subscribe(t.Context(), 100)

	h.ok(model.DesireTask{Task: taskSpec("job", 64)})
	got := h.task("job")
	if got.State != model.TaskPending || got.RootFS != model.DefaultRootFS || got.Domain != "default" ||
		!got.CreatedAt.Equal(t0) || !got.UpdatedAt.Equal(t0) {
		t.Fatalf("desired task: got %+v", got)
	}
	h.reject(model.DesireTask{Task: taskSpec("job", 64)}, model.CodeResourceExists)
	bad := taskSpec("bad", 64)
	bad.Action = nil
	h.reject(model.DesireTask{Task: bad}, model.CodeInvalidRequest)
	if _, ok := h.fsm.View().Task("bad"); ok {
		t.Error("invalid task stored")
	}

	h.advance(time.Second)
	h.ok(place("job", "c1"))
	if got := h.task("job"); got.State != model.TaskRunning || got.CellID != "c1" || !got.UpdatedAt.Equal(h.now) {
		t.Fatalf("placed task: got %+v", got)
	}
	if tasks := h.fsm.View().TasksByCell("c1"); len(tasks) != 1 || tasks[0].TaskGUID != "job" {
		t.Errorf("TasksByCell(c1): got %v", tasks)
	}
	if a := h.fsm.View().CellAllocations()["c1"]; a != (model.Resources{MemoryMB: 64, DiskMB: 16, Containers: 1}) {
		t.Errorf("allocation of c1 with a running task: got %+v", a)
	}
	h.ok(model.StartTask{TaskGUID: "job", CellID: "c1"}) // idempotent
	h.reject(model.StartTask{TaskGUID: "job", CellID: "c2"}, model.CodeInvalidTransition)
	h.reject(model.CompleteTask{TaskGUID: "job", CellID: "c2", Result: "x"}, model.CodeInvalidTransition)
	h.reject(model.CompleteTask{TaskGUID: "job", CellID: "c1", Result: strings.Repeat("x", model.MaxTaskResultSize+1)},
		model.CodeInvalidRequest)

	h.advance(time.Second)
	h.ok(model.CompleteTask{TaskGUID: "job", CellID: "c1", Result: "42\n"})
	got = h.task("job")
	if got.State != model.TaskCompleted || got.Result != "42\n" || got.Failed || got.CellID != "" || !got.FirstCompletedAt.Equal(h.now) {
		t.Fatalf("completed task: got %+v", got)
	}
	if tasks := h.fsm.View().TasksByCell("c1"); len(tasks) != 0 {
		t.Errorf("TasksByCell(c1) after completion: got %d tasks", len(tasks))
	}
	if _, ok := h.fsm.View().CellAllocations()["c1"]; ok {
		t.Error("a completed task still counts in its cell's allocation")
	}
	h.reject(model.DeleteTask{TaskGUID: "job"}, model.CodeInvalidTransition) // resolve first
	h.ok(model.ResolvingTask{TaskGUID: "job"})
	h.ok(model.DeleteTask{TaskGUID: "job"})
	if _, ok := h.fsm.View().Task("job"); ok {
		t.Fatal("deleted task still stored")
	}
	h.reject(model.CancelTask{TaskGUID: "job"}, model.CodeNotFound)

	// Events are published synchronously by Apply: drain what is there.
	var types []model.EventType
	for drained := false; !drained; {
		select {
		case evs := <-sub:
			for _, ev := range evs {
				if ev.TaskBefore != nil || ev.TaskAfter != nil {
					types = append(types, ev.Type)
				}
			}
		default:
			drained = true
		}
	}
	// Created; placed, completed, resolving; removed. The idempotent start
	// and the refusals emit nothing.
	want := []model.EventType{model.EventTaskCreated, model.EventTaskChanged, model.EventTaskChanged,
		model.EventTaskChanged, model.EventTaskRemoved}
	if !reflect.DeepEqual(types, want) {
		t.Errorf("task events: got %v, want %v", types, want)
	}
}

// TestTaskCommandsFromEveryState applies every task command to a task in
// every state through the FSM: an allowed one moves the task as the model
// says, a refused one is CodeInvalidTransition and changes nothing.
func TestTaskCommandsFromEveryState(t *testing.T) {
	// setup brings task "t" to a state.
	setup := map[model.TaskState][]model.Command{
		model.TaskPending:   nil,
		model.TaskRunning:   {place("t", "c1")},
		model.TaskCompleted: {place("t", "c1"), model.CompleteTask{TaskGUID: "t", CellID: "c1"}},
		model.TaskResolving: {place("t", "c1"), model.CompleteTask{TaskGUID: "t", CellID: "c1"}, model.ResolvingTask{TaskGUID: "t"}},
	}
	const gone = model.TaskState("deleted")
	tests := []struct {
		cmd  model.Command
		want map[model.TaskState]model.TaskState // missing = refused
	}{
		{model.StartTask{TaskGUID: "t", CellID: "c1"}, map[model.TaskState]model.TaskState{model.TaskPending: model.TaskRunning, model.TaskRunning: model.TaskRunning}},
		{model.StartTask{TaskGUID: "t", CellID: "c2"}, map[model.TaskState]model.TaskState{model.TaskPending: model.TaskRunning}},
		{model.CompleteTask{TaskGUID: "t", CellID: "c1"}, map[model.TaskState]model.TaskState{model.TaskRunning: model.TaskCompleted}},
		{model.CompleteTask{TaskGUID: "t", CellID: "c2"}, nil},
		{model.CancelTask{TaskGUID: "t"}, map[model.TaskState]model.TaskState{model.TaskPending: model.TaskCompleted, model.TaskRunning: model.TaskCompleted}},
		{model.FailTask{TaskGUID: "t", Reason: "x"}, map[model.TaskState]model.TaskState{model.TaskPending: model.TaskCompleted, model.TaskRunning: model.TaskCompleted}},
		{model.FailTask{TaskGUID: "t", CellID: "c1", Reason: "x"}, map[model.TaskState]model.TaskState{model.TaskRunning: model.TaskCompleted}},
		{model.FailTask{TaskGUID: "t", CellID: "c2", Reason: "x"}, nil},
		{model.RejectTask{TaskGUID: "t", Reason: "x"}, map[model.TaskState]model.TaskState{model.TaskPending: model.TaskPending}},
		{model.RejectTask{TaskGUID: "t", CellID: "c1", Reason: "x"}, map[model.TaskState]model.TaskState{model.TaskRunning: model.TaskPending}},
		{model.RejectTask{TaskGUID: "t", CellID: "c2", Reason: "x"}, nil},
		{model.ResolvingTask{TaskGUID: "t"}, map[model.TaskState]model.TaskState{model.TaskCompleted: model.TaskResolving}},
		{model.DemoteResolvingTask{TaskGUID: "t"}, map[model.TaskState]model.TaskState{model.TaskResolving: model.TaskCompleted}},
		{model.DeleteTask{TaskGUID: "t"}, map[model.TaskState]model.TaskState{model.TaskResolving: gone}},
		{model.ExpireTask{TaskGUID: "t"}, map[model.TaskState]model.TaskState{model.TaskCompleted: gone, model.TaskResolving: gone}},
	}
	for _, tt := range tests {
		for _, from := range []model.TaskState{model.TaskPending, model.TaskRunning, model.TaskCompleted, model.TaskResolving} {
			h := newHarness(t)
			checkTasks(t, h)
			h.ok(model.UpsertCell{Cell: cell("c1", 1024)}, model.UpsertCell{Cell: cell("c2", 1024)},
				model.DesireTask{Task: taskSpec("t", 64)})
			for _, c := range setup[from] {
				h.ok(c)
			}
			before := h.task("t")
			h.advance(time.Second)
			want, allowed := tt.want[from]
			err := h.apply(tt.cmd)[0]
			name := strings.TrimSpace(tt.cmd.CommandName() + " " + cmdCell(tt.cmd))
			if !allowed {
				if model.CodeOf(err) != model.CodeInvalidTransition {
					t.Errorf("%s from %s: got %v, want invalid_transition", name, from, err)
				}
				if after := h.task("t"); !reflect.DeepEqual(after, before) {
					t.Errorf("%s from %s: refused but the task changed to %+v", name, from, after)
				}
				continue
			}
			if err != nil {
				t.Errorf("%s from %s: got %v, want %s", name, from, err, want)
				continue
			}
			after, ok := h.fsm.View().Task("t")
			switch {
			case want == gone && ok:
				t.Errorf("%s from %s: task still stored as %s", name, from, after.State)
			case want != gone && (!ok || after.State != want):
				t.Errorf("%s from %s: got %s (stored %v), want %s", name, from, after.State, ok, want)
			}
		}
	}
}

// cmdCell names the cell a test command carries, for messages.
func cmdCell(c model.Command) string {
	switch c := c.(type) {
	case model.StartTask:
		return c.CellID
	case model.CompleteTask:
		return c.CellID
	case model.FailTask:
		return c.CellID
	case model.RejectTask:
		return c.CellID
	}
	return ""
}

// TestTaskRejectionCountRule checks spec §5.5 in the store: three
// rejections (by the auction or by the cell) leave the task PENDING with
// the count; the fourth fails it with the reason.
func TestTaskRejectionCountRule(t *testing.T) {
	h := newHarness(t)
	checkTasks(t, h)
	h.ok(model.UpsertCell{Cell: cell("c1", 1024)}, model.DesireTask{Task: taskSpec("t", 64)})
	fail := model.PlaceTasks{Failures: []model.TaskPlacementFailure{{TaskGUID: "t", Error: "insufficient resources: memory"}}}
	h.ok(fail)
	h.ok(place("t", "c1"), model.RejectTask{TaskGUID: "t", CellID: "c1", Reason: "failed to create container"})
	h.ok(fail)
	got := h.task("t")
	if got.State != model.TaskPending || got.RejectionCount != 3 || got.RejectionReason != "insufficient resources: memory" {
		t.Fatalf("after 3 rejections: got %s count %d reason %q", got.State, got.RejectionCount, got.RejectionReason)
	}
	h.ok(fail)
	got = h.task("t")
	if got.State != model.TaskCompleted || !got.Failed || got.FailureReason != "insufficient resources: memory" {
		t.Fatalf("after the 4th rejection: got %s failed %v reason %q", got.State, got.Failed, got.FailureReason)
	}
	// A failure for a task that is no longer PENDING is stale: skipped.
	rec := newCountingRecorder()
	h.fsm.rec = rec
	h.ok(fail)
	if rec.skipped != 1 {
		t.Errorf("stale failure: skipped %d, want 1", rec.skipped)
	}
}

func TestPlaceTasksCapacityAndStaleness(t *testing.T) {
	h := newHarness(t)
	checkTasks(t, h)
	// 300 MB: one 128 MB LRP instance and one 128 MB task, not a second task.
	h.ok(model.UpsertCell{Cell: cell("c1", 300)}, model.UpsertCell{Cell: cell("lost", 4096)},
		model.DesireLRP{LRP: lrp("app", 1)})
	h.ok(claim("app", 0, "i0", "c1"))
	for _, g := range []string{"a", "b", "c", "d", "e"} {
		h.ok(model.DesireTask{Task: taskSpec(g, 128)})
	}
	h.ok(model.SetCellState{CellID: "lost", State: model.CellLost})
	rec := newCountingRecorder()
	h.fsm.rec = rec
	h.ok(model.PlaceTasks{Placements: []model.TaskPlacement{
		{TaskGUID: "a", CellID: "c1"},
		{TaskGUID: "b", CellID: "c1"},      // no room left
		{TaskGUID: "c", CellID: "lost"},    // cell not ALIVE
		{TaskGUID: "d", CellID: "nowhere"}, // unknown cell
		{TaskGUID: "missing", CellID: "c1"},
	}})
	for g, want := range map[string]model.TaskState{"a": model.TaskRunning, "b": model.TaskPending,
		"c": model.TaskPending, "d": model.TaskPending, "e": model.TaskPending} {
		if got := h.task(g); got.State != want {
			t.Errorf("task %s: got %s, want %s", g, got.State, want)
		}
	}
	if rec.skipped != 4 {
		t.Errorf("skipped placements: got %d, want 4", rec.skipped)
	}
	h.ok(place("a", "c1")) // already RUNNING: stale
	if rec.skipped != 5 {
		t.Errorf("placement of a running task: skipped %d in all, want 5", rec.skipped)
	}
	// The task's reservation counts when an LRP is claimed on the cell.
	h.ok(model.UpdateDesiredLRP{ProcessGUID: "app", Update: model.DesiredLRPUpdate{Instances: ptr(2)}})
	h.ok(claim("app", 1, "i1", "c1"))
	if got := h.ord("app", 1); got.State != model.StateUnclaimed {
		t.Errorf("LRP claim on a cell full with a task: got %s, want UNCLAIMED", got.State)
	}
	if a := h.fsm.View().CellAllocations()["c1"]; a.MemoryMB != 256 || a.Containers != 2 {
		t.Errorf("allocation of c1: got %+v, want 256 MB in 2 containers", a)
	}
}

func ptr[T any](v T) *T { return &v }

func TestTaskSnapshotRoundTrip(t *testing.T) {
	h := newHarness(t)
	checkTasks(t, h)
	h.ok(model.UpsertCell{Cell: cell("c1", 4096)})
	spec := taskSpec("done", 64)
	spec.ResultFile = "/tmp/r"
	spec.CompletionCallbackURL = "http://127.0.0.1:1/cb"
	spec.Env = map[string]string{"A": "1"}
	h.ok(model.DesireTask{Task: spec}, model.DesireTask{Task: taskSpec("pending", 64)},
		model.DesireTask{Task: taskSpec("running", 64)})
	h.ok(place("done", "c1"), place("running", "c1"))
	h.advance(time.Second)
	h.ok(model.CompleteTask{TaskGUID: "done", CellID: "c1", Result: "42"}, model.ResolvingTask{TaskGUID: "done"})
	h.ok(model.RejectTask{TaskGUID: "pending", Reason: "no room"})
	want := h.fsm.View().Tasks()
	if len(want) != 3 {
		t.Fatalf("tasks before the snapshot: got %d, want 3", len(want))
	}
	snap, err := h.fsm.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	sink := &memSink{}
	if err := snap.Persist(sink); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(sink.String(), `"tasks":3`) {
		t.Errorf("snapshot trailer does not count 3 tasks")
	}
	f := NewFSM(nil, nil, zerolog.Nop())
	if err := f.Restore(readCloser(sink.String())); err != nil {
		t.Fatalf("restore: %v", err)
	}
	got := f.View().Tasks()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("restored tasks:\n got %+v\nwant %+v", got, want)
	}
	if tasks := f.View().TasksByCell("c1"); len(tasks) != 1 || tasks[0].TaskGUID != "running" {
		t.Errorf("restored TasksByCell(c1): got %v", tasks)
	}
	// A truncated task count is detected.
	broken := strings.Replace(sink.String(), `"tasks":3`, `"tasks":2`, 1)
	if err := NewFSM(nil, nil, zerolog.Nop()).Restore(readCloser(broken)); err == nil {
		t.Error("restore with a wrong task count: got nil error")
	}
}

type stringReadCloser struct{ *strings.Reader }

func (stringReadCloser) Close() error { return nil }

func readCloser(s string) stringReadCloser { return stringReadCloser{strings.NewReader(s)} }

func TestTaskCommandsEncodeDecode(t *testing.T) {
	cmds := []model.Command{
		model.DesireTask{Task: taskSpec("t", 1)},
		model.PlaceTasks{SnapshotIndex: 7, Placements: []model.TaskPlacement{{TaskGUID: "t", CellID: "c"}},
			Failures: []model.TaskPlacementFailure{{TaskGUID: "u", Error: "e"}}},
		model.StartTask{TaskGUID: "t", CellID: "c"},
		model.CompleteTask{TaskGUID: "t", CellID: "c", Failed: true, FailureReason: "r"},
		model.CancelTask{TaskGUID: "t"},
		model.FailTask{TaskGUID: "t", CellID: "c", Reason: "r"},
		model.RejectTask{TaskGUID: "t", Reason: "r"},
		model.ResolvingTask{TaskGUID: "t"},
		model.DeleteTask{TaskGUID: "t"},
		model.DemoteResolvingTask{TaskGUID: "t"},
		model.ExpireTask{TaskGUID: "t"},
	}
	seen := map[CommandType]bool{}
	for _, c := range cmds {
		typ, err := CommandTypeOf(c)
		if err != nil || typ < 32 || typ > 47 || seen[typ] {
			t.Errorf("%s: type %d, %v; want a distinct type in 32..47", c.CommandName(), typ, err)
		}
		seen[typ] = true
	}
	buf, err := Encode(t0, cmds...)
	if err != nil {
		t.Fatal(err)
	}
	env, err := Decode(buf)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(env.Commands, cmds) {
		t.Errorf("decoded commands:\n got %+v\nwant %+v", env.Commands, cmds)
	}
}
