package auction

import (
	"reflect"
	"testing"
	"time"

	"github.com/diegod/diegod/model"
)

var taskT0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func testTask(guid string, st model.TaskState, cellID string, created, updated time.Time) model.Task {
	t := model.Task{TaskSpec: model.TaskSpec{TaskGUID: guid, TaskDefinition: model.TaskDefinition{
		MemoryMB: 10, DiskMB: 10, RootFS: model.DefaultRootFS,
		Action: &model.Action{Run: &model.RunAction{Path: "/bin/true"}},
	}}, State: st, CellID: cellID, CreatedAt: created, UpdatedAt: updated}
	if st == model.TaskCompleted || st == model.TaskResolving {
		t.FirstCompletedAt = updated
	}
	return t
}

func TestConvergeTasks(t *testing.T) {
	cfg := DefaultTaskConfig()
	now := taskT0.Add(time.Hour)
	ago := func(d time.Duration) time.Time { return now.Add(-d) }
	rejected := testTask("pending-rejected", model.TaskPending, "", ago(time.Minute), ago(31*time.Second))
	rejected.RejectionCount, rejected.RejectionReason = 1, "insufficient resources: memory"
	rejectedRecent := testTask("pending-rejected-recent", model.TaskPending, "", ago(time.Minute), ago(10*time.Second))
	rejectedRecent.RejectionCount, rejectedRecent.RejectionReason = 1, "insufficient resources: memory"
	// A callback that never answers: resolving for 31 s, completed 3 min ago.
	stalled := testTask("resolving-stalled", model.TaskResolving, "", ago(time.Hour), ago(31*time.Second))
	stalled.FirstCompletedAt = ago(3 * time.Minute)
	snap := Snapshot{
		Cells: []model.Cell{
			{CellID: "alive", State: model.CellAlive},
			{CellID: "draining", State: model.CellDraining},
			{CellID: "lost", State: model.CellLost},
		},
		Tasks: []model.Task{
			testTask("completed-old", model.TaskCompleted, "", ago(time.Hour), ago(2*time.Minute)),
			testTask("completed-recent", model.TaskCompleted, "", ago(time.Hour), ago(time.Minute)),
			testTask("pending-expired", model.TaskPending, "", ago(30*time.Minute), ago(time.Second)),
			testTask("pending-fresh", model.TaskPending, "", ago(time.Second), ago(time.Second)),
			testTask("pending-lost-auction", model.TaskPending, "", ago(40*time.Second), ago(40*time.Second)),
			rejected,
			rejectedRecent,
			testTask("resolving-old", model.TaskResolving, "", ago(time.Hour), ago(30*time.Second)),
			testTask("resolving-recent", model.TaskResolving, "", ago(time.Hour), ago(5*time.Second)),
			stalled,
			testTask("running-alive", model.TaskRunning, "alive", ago(time.Hour), ago(time.Hour)),
			testTask("running-draining", model.TaskRunning, "draining", ago(time.Hour), ago(time.Hour)),
			testTask("running-lost", model.TaskRunning, "lost", ago(time.Hour), ago(time.Hour)),
			testTask("running-unknown", model.TaskRunning, "gone", ago(time.Hour), ago(time.Hour)),
		},
	}
	res := ConvergeTasks(snap, now, cfg)
	want := []model.Command{
		model.ExpireTask{TaskGUID: "completed-old"},
		model.FailTask{TaskGUID: "pending-expired", Reason: model.TaskReasonNotStarted},
		model.DemoteResolvingTask{TaskGUID: "resolving-old"},
		model.ExpireTask{TaskGUID: "resolving-stalled"},
		model.FailTask{TaskGUID: "running-lost", CellID: "lost", Reason: model.TaskReasonCellDisappeared},
		model.FailTask{TaskGUID: "running-unknown", CellID: "gone", Reason: model.TaskReasonCellDisappeared},
	}
	if !reflect.DeepEqual(res.Commands, want) {
		t.Errorf("commands:\n got %+v\nwant %+v", res.Commands, want)
	}
	if !reflect.DeepEqual(res.Retry, []string{"pending-rejected"}) {
		t.Errorf("retry: got %v, want [pending-rejected]", res.Retry)
	}
	if !res.AuctionNeeded {
		t.Error("AuctionNeeded: got false, want true (pending-lost-auction waited 40 s)")
	}
	// Earliest future step: the kick of pending-rejected-recent, 20 s from
	// now (resolving-recent is due in 25 s, pending-fresh in 29 s).
	if got, w := res.NextWake, now.Add(20*time.Second); !got.Equal(w) {
		t.Errorf("next wake: got %v, want %v", got.Sub(now), w.Sub(now))
	}
	wantStats := TaskConvergeStats{Pending: 5, Running: 4, Completed: 2, Resolving: 3, Kicked: 1, Failed: 3, Demoted: 1, Expired: 2}
	if res.Stats != wantStats {
		t.Errorf("stats: got %+v, want %+v", res.Stats, wantStats)
	}
}

func TestConvergeTasksQuiet(t *testing.T) {
	now := taskT0
	snap := Snapshot{Tasks: []model.Task{testTask("p", model.TaskPending, "", now, now)}}
	res := ConvergeTasks(snap, now, DefaultTaskConfig())
	if len(res.Commands) != 0 || res.AuctionNeeded || len(res.Retry) != 0 {
		t.Errorf("fresh pending task: got %+v, want nothing to do", res)
	}
	if !res.NextWake.Equal(now.Add(DefaultTaskKickDuration)) {
		t.Errorf("next wake: got %v, want the kick", res.NextWake.Sub(now))
	}
	// Configurable timings: a pending expiry of one second fails it.
	cfg := TaskConfig{KickDuration: time.Second, PendingExpiry: time.Second, CompletedExpiry: time.Second}
	res = ConvergeTasks(snap, now.Add(time.Second), cfg)
	if len(res.Commands) != 1 || res.Commands[0] != (model.FailTask{TaskGUID: "p", Reason: model.TaskReasonNotStarted}) {
		t.Errorf("pending expiry 1 s: got %+v", res.Commands)
	}
}

func TestTaskConfigValidate(t *testing.T) {
	if err := DefaultTaskConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []TaskConfig{
		{KickDuration: 0, PendingExpiry: 1, CompletedExpiry: 1},
		{KickDuration: 1, PendingExpiry: 0, CompletedExpiry: 1},
		{KickDuration: 1, PendingExpiry: 1, CompletedExpiry: -1},
	} {
		if err := c.Validate(); err == nil {
			t.Errorf("%+v: got valid", c)
		}
	}
	cfg := DefaultConfig()
	cfg.Tasks.KickDuration = 0
	if err := cfg.Validate(); err == nil {
		t.Error("Config with a zero task kick: got valid")
	}
}

func TestPendingTaskWorkAndCellViews(t *testing.T) {
	now := taskT0
	rej := testTask("rejected", model.TaskPending, "", now, now)
	rej.RejectionCount, rej.RejectionReason = 1, "no room"
	snap := Snapshot{
		Cells: []model.Cell{{CellID: "c1", State: model.CellAlive, Capacity: model.Resources{MemoryMB: 100, DiskMB: 100, Containers: 10}}},
		Tasks: []model.Task{
			testTask("fresh", model.TaskPending, "", now, now),
			rej,
			testTask("running", model.TaskRunning, "c1", now, now),
			testTask("running-elsewhere", model.TaskRunning, "c9", now, now),
			testTask("done", model.TaskCompleted, "", now, now),
		},
	}
	ids := func(w []Work) []string {
		var out []string
		for _, x := range w {
			if !x.IsTask() {
				t.Errorf("work %v is not a task", x)
			}
			out = append(out, x.TaskGUID)
		}
		return out
	}
	if got := ids(PendingTaskWork(snap, false, nil)); !reflect.DeepEqual(got, []string{"fresh"}) {
		t.Errorf("pending work: got %v, want [fresh]", got)
	}
	if got := ids(PendingTaskWork(snap, true, nil)); !reflect.DeepEqual(got, []string{"fresh", "rejected"}) {
		t.Errorf("pending work with rejected: got %v", got)
	}
	if got := ids(PendingTaskWork(snap, false, map[string]bool{"rejected": true})); !reflect.DeepEqual(got, []string{"fresh", "rejected"}) {
		t.Errorf("pending work with retry: got %v", got)
	}
	views := CellViews(snap)
	if views[0].Tasks != 1 || views[0].Allocated != (model.Resources{MemoryMB: 10, DiskMB: 10, Containers: 1}) {
		t.Errorf("cell view: got tasks %d allocated %+v, want 1 task of 10 MB", views[0].Tasks, views[0].Allocated)
	}
}

// TestPlaceTasksSpreadByTaskCount checks the task score (spec §5.3): 1000
// per task already on the cell dominates, so tasks spread one per cell.
func TestPlaceTasksSpreadByTaskCount(t *testing.T) {
	cells := []CellView{
		{Cell: model.Cell{CellID: "busy", State: model.CellAlive, Zone: "z", RootFSProviders: []string{"host"},
			Capacity: model.Resources{MemoryMB: 1000, DiskMB: 1000, Containers: 100}}, Tasks: 1, Instances: map[string]int{}},
		{Cell: model.Cell{CellID: "idle", State: model.CellAlive, Zone: "z", RootFSProviders: []string{"host"},
			Capacity: model.Resources{MemoryMB: 100, DiskMB: 100, Containers: 100}}, Instances: map[string]int{}},
	}
	work := []Work{
		{TaskGUID: "t1", Resources: model.Resources{MemoryMB: 10, DiskMB: 10}, RootFS: "host"},
		{TaskGUID: "t2", Resources: model.Resources{MemoryMB: 10, DiskMB: 10}, RootFS: "host"},
	}
	plan := Place(cells, work, DefaultOptions())
	got := map[string]string{}
	for _, p := range plan.Placements {
		got[p.TaskGUID] = p.CellID
	}
	// t1 (first by guid) goes to the idle cell despite its smaller size;
	// then both cells hold one task and the bigger cell wins t2.
	if got["t1"] != "idle" || got["t2"] != "busy" {
		t.Errorf("placements: got %v, want t1 on idle and t2 on busy", got)
	}
}
