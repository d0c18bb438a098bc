package cell_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/diegod/diegod/cell"
	"github.com/diegod/diegod/cell/celltest"
	"github.com/diegod/diegod/model"
)

// runningTask returns a task RUNNING on the test cell, placed after the
// cell started (UpdatedAt in the future, so it is never an orphan).
func runningTask(guid string, env map[string]string, resultFile string) model.Task {
	spec := model.TaskSpec{TaskGUID: guid, TaskDefinition: model.TaskDefinition{
		MemoryMB: 16, DiskMB: 16, ResultFile: resultFile,
		Action: &model.Action{Run: &model.RunAction{Path: "/bin/task", Env: env}},
	}}
	spec.Normalize()
	t := model.NewTask(spec, time.Now())
	t.State, t.CellID, t.UpdatedAt = model.TaskRunning, cellID, time.Now().Add(time.Hour)
	return t
}

func completions(h *harness) []model.CompleteTask {
	return celltest.CommandsOf[model.CompleteTask](h.rep)
}
func rejections(h *harness) []model.RejectTask { return celltest.CommandsOf[model.RejectTask](h.rep) }

// waitReport waits for the first CompleteTask or RejectTask of guid.
func waitReport(t *testing.T, h *harness, guid string) model.Command {
	t.Helper()
	var got model.Command
	waitFor(t, 5*time.Second, "a report for task "+guid, func() bool {
		for _, c := range h.rep.Commands() {
			switch c := c.(type) {
			case model.CompleteTask:
				if c.TaskGUID == guid {
					got = c
					return true
				}
			case model.RejectTask:
				if c.TaskGUID == guid {
					got = c
					return true
				}
			}
		}
		return false
	})
	return got
}

func TestTaskSucceedsWithResult(t *testing.T) {
	h := newHarness(t, nil, nil)
	h.src.SetTasks(runningTask("job", map[string]string{celltest.EnvResult: "42\n"}, "/tmp/result"))
	got := waitReport(t, h, "job")
	want := model.CompleteTask{TaskGUID: "job", CellID: cellID, Result: "42\n"}
	if got != want {
		t.Fatalf("report: got %+v, want %+v", got, want)
	}
	waitFor(t, 5*time.Second, "the task container to be destroyed", func() bool { return h.rt.Len() == 0 })
	if h.rt.Creates() != 1 {
		t.Errorf("containers created: got %d, want 1", h.rt.Creates())
	}
	var lines []string
	waitFor(t, 5*time.Second, "the destroy line", func() bool {
		lines = lines[:0]
		for _, l := range h.cell.Logs().Recent("job") {
			lines = append(lines, l.Prefix()+" "+l.Text)
		}
		return len(lines) > 0 && strings.Contains(lines[len(lines)-1], "successfully destroyed container for task job")
	})
	all := strings.Join(lines, "\n")
	for _, w := range []string{"[CELL] OUT Cell cell-a creating container for task job",
		"[APP/TASK/job] OUT Fake process starting", "[APP/TASK/job] OUT Exit status 0"} {
		if !strings.Contains(all, w) {
			t.Errorf("logs: missing %q in\n%s", w, all)
		}
	}
	// A later view still showing the task on the cell starts nothing.
	h.src.SetTasks(runningTask("job", nil, ""))
	time.Sleep(20 * time.Millisecond) // nothing to wait for: check nothing happens
	if n := len(completions(h)); n != 1 || h.rt.Creates() != 1 {
		t.Errorf("after a stale view: %d reports, %d creates; want 1 and 1", n, h.rt.Creates())
	}
}

func TestTaskFailures(t *testing.T) {
	tests := []struct {
		name       string
		env        map[string]string
		resultFile string
		want       string
	}{
		{"exit status", map[string]string{celltest.EnvExitCode: "3"}, "", "APP/TASK/t: Exited with status 3"},
		{"result too large", map[string]string{celltest.EnvResult: strings.Repeat("x", model.MaxTaskResultSize+1)}, "/tmp/r",
			"result file /tmp/r is larger than the 51200 byte limit"},
		{"no result file", nil, "/tmp/r", "failed to read result file /tmp/r"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, nil, nil)
			h.src.SetTasks(runningTask("t", tt.env, tt.resultFile))
			got, ok := waitReport(t, h, "t").(model.CompleteTask)
			if !ok || !got.Failed || got.Result != "" || !strings.Contains(got.FailureReason, tt.want) {
				t.Errorf("report: got %+v, want a failed completion with %q", got, tt.want)
			}
			waitFor(t, 5*time.Second, "no container", func() bool { return h.rt.Len() == 0 })
		})
	}
	t.Run("result of exactly 50 KiB", func(t *testing.T) {
		h := newHarness(t, nil, nil)
		res := strings.Repeat("y", model.MaxTaskResultSize)
		h.src.SetTasks(runningTask("t", map[string]string{celltest.EnvResult: res}, "/tmp/r"))
		if got, _ := waitReport(t, h, "t").(model.CompleteTask); got.Failed || got.Result != res {
			t.Errorf("report: failed %v reason %q, result %d bytes; want the whole result", got.Failed, got.FailureReason, len(got.Result))
		}
	})
}

// TestTaskFailureBeforeRunRejects: a failure before any process started
// (container creation, downloads) is retryable: the cell rejects the task.
func TestTaskFailureBeforeRunRejects(t *testing.T) {
	t.Run("create", func(t *testing.T) {
		h := newHarness(t, nil, func(h *harness) {
			h.rt.SetCreateError(func(cell.ContainerSpec) error { return errors.New("no rootfs") })
		})
		h.src.SetTasks(runningTask("t", nil, ""))
		got := waitReport(t, h, "t")
		want := model.RejectTask{TaskGUID: "t", CellID: cellID, Reason: "failed to create container: no rootfs"}
		if got != want {
			t.Errorf("report: got %+v, want %+v", got, want)
		}
	})
	t.Run("download", func(t *testing.T) {
		h := newHarness(t, nil, nil)
		task := runningTask("t", nil, "")
		task.Action = &model.Action{Serial: []model.Action{
			{Download: &model.DownloadAction{From: "http://127.0.0.1:1/app.tgz", To: "/app"}},
			{Run: &model.RunAction{Path: "/bin/task"}},
		}}
		h.src.SetTasks(task)
		got, ok := waitReport(t, h, "t").(model.RejectTask)
		if !ok || got.CellID != cellID || !strings.Contains(got.Reason, "Failed to download") {
			t.Errorf("report: got %+v, want a rejection naming the download", got)
		}
		waitFor(t, 5*time.Second, "no container", func() bool { return h.rt.Len() == 0 })
	})
	t.Run("placed again after the rejection", func(t *testing.T) {
		fail := true
		h := newHarness(t, nil, func(h *harness) {
			h.rt.SetCreateError(func(cell.ContainerSpec) error {
				if fail {
					return errors.New("disk full")
				}
				return nil
			})
		})
		first := runningTask("t", nil, "")
		h.src.SetTasks(first)
		waitReport(t, h, "t")
		fail = false
		again := first
		again.RejectionCount, again.RejectionReason = 1, "failed to create container: disk full"
		h.src.SetTasks(again)
		waitFor(t, 5*time.Second, "a completion", func() bool { return len(completions(h)) == 1 })
		if got := completions(h)[0]; got.Failed {
			t.Errorf("second placement: got failed %q, want success", got.FailureReason)
		}
	})
}

// TestTaskStoppedWhenItLeavesTheCell: a cancelled task (gone from the
// cell's assignment) gets SIGTERM, then its container is destroyed;
// nothing is reported (the store already completed it).
func TestTaskStoppedWhenItLeavesTheCell(t *testing.T) {
	h := newHarness(t, nil, nil)
	h.src.SetTasks(runningTask("sleep", map[string]string{celltest.EnvExitAfter: "1h"}, ""))
	waitFor(t, 5*time.Second, "the task to run", func() bool {
		info, ok := h.rt.Container("sleep")
		return ok && info.State == cell.ContainerRunning
	})
	h.src.SetTasks()
	waitFor(t, 5*time.Second, "the container to go", func() bool { return h.rt.Len() == 0 })
	if n := len(completions(h)) + len(rejections(h)); n != 0 {
		t.Errorf("reports after a cancel: got %d, want 0", n)
	}
	found := false
	for _, l := range h.cell.Logs().Recent("sleep") {
		found = found || strings.Contains(l.Text, "Exit status 143")
	}
	if !found {
		t.Error("logs: no \"Exit status 143\" line: the task did not get SIGTERM")
	}
}

// TestTaskSIGKILLAfterGrace: a task that ignores SIGTERM is killed after
// the stop grace.
func TestTaskSIGKILLAfterGrace(t *testing.T) {
	h := newHarness(t, func(c *cell.Config) { c.StopGrace = 50 * time.Millisecond }, nil)
	h.src.SetTasks(runningTask("stubborn", map[string]string{celltest.EnvExitAfter: "1h", celltest.EnvIgnoreSIGTERM: "true"}, ""))
	waitFor(t, 5*time.Second, "the task to run", func() bool {
		info, ok := h.rt.Container("stubborn")
		return ok && info.State == cell.ContainerRunning
	})
	h.src.SetTasks()
	waitFor(t, 5*time.Second, "the container to go", func() bool { return h.rt.Len() == 0 })
	var texts []string
	for _, l := range h.cell.Logs().Recent("stubborn") {
		texts = append(texts, l.Text)
	}
	all := strings.Join(texts, "\n")
	for _, w := range []string{"Process did not exit within 50ms of SIGTERM, sending SIGKILL", "Exit status 137"} {
		if !strings.Contains(all, w) {
			t.Errorf("logs: missing %q in\n%s", w, all)
		}
	}
}

// TestOrphanTaskCompletesFailed: a task RUNNING on the cell since before
// the cell started has no container: it completes failed "task container
// does not exist" and nothing is created.
func TestOrphanTaskCompletesFailed(t *testing.T) {
	orphan := runningTask("old", nil, "")
	orphan.UpdatedAt = time.Now().Add(-time.Hour)
	h := newHarness(t, nil, func(h *harness) { h.src.SetTasks(orphan) })
	got := waitReport(t, h, "old")
	want := model.CompleteTask{TaskGUID: "old", CellID: cellID, Failed: true, FailureReason: model.TaskReasonNoContainer}
	if got != want {
		t.Errorf("report: got %+v, want %+v", got, want)
	}
	if h.rt.Creates() != 0 {
		t.Errorf("containers created for an orphan: got %d, want 0", h.rt.Creates())
	}
}

func TestDiffTasks(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	task := func(guid string, st model.TaskState, cell string, updated time.Time, rejections int) model.Task {
		return model.Task{TaskSpec: model.TaskSpec{TaskGUID: guid}, State: st, CellID: cell, UpdatedAt: updated, RejectionCount: rejections}
	}
	assigned := []model.Task{
		task("new", model.TaskRunning, cellID, start.Add(time.Second), 0),
		task("orphan", model.TaskRunning, cellID, start.Add(-time.Second), 0),
		task("held", model.TaskRunning, cellID, start.Add(time.Second), 0),
		task("other-cell", model.TaskRunning, "cell-b", start.Add(time.Second), 0),
		task("pending", model.TaskPending, "", start.Add(time.Second), 0),
		task("replaced", model.TaskRunning, cellID, start.Add(time.Second), 1),
	}
	observed := map[string]cell.ObservedTask{
		"held":     {TaskGUID: "held", Phase: cell.PhaseActive},
		"gone":     {TaskGUID: "gone", Phase: cell.PhaseActive},
		"stopping": {TaskGUID: "stopping", Phase: cell.PhaseStopping},
		"done":     {TaskGUID: "done", Phase: cell.PhaseFinished},
		"replaced": {TaskGUID: "replaced", Phase: cell.PhaseStopping},
	}
	var got []string
	for _, a := range cell.DiffTasks(assigned, observed, cellID, start) {
		got = append(got, string(a.Kind)+" "+a.ContainerID)
	}
	want := []string{"forget done", "stop gone", "start new", "orphan orphan", "start replaced-r1"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("plan:\n got %v\nwant %v", got, want)
	}
}
