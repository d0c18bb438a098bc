package raftstore

import (
	"testing"
	"time"

	"github.com/diegod/diegod/model"
)

func TestUpsertCell(t *testing.T) {
	h := newHarness(t)
	c := cell("c1", 1024)
	c.Since = time.Unix(1, 0) // ignored
	h.ok(model.UpsertCell{Cell: c})
	got, ok := h.fsm.View().Cell("c1")
	if !ok || got.State != model.CellAlive || !got.Since.Equal(t0) {
		t.Fatalf("new cell: %+v", got)
	}

	// A refresh with the same content changes nothing.
	h.advance(time.Minute)
	idx := h.fsm.AppliedIndex()
	sub := h.fsm.Hub().Subscribe(t.Context(), 10)
	h.ok(model.UpsertCell{Cell: cell("c1", 1024)})
	if h.fsm.AppliedIndex() != idx+1 {
		t.Fatalf("applied index did not move")
	}
	select {
	case ev := <-sub:
		t.Errorf("identical upsert emitted %v", eventTypes(ev))
	default:
	}

	// A capacity change keeps Since; a state change moves it.
	h.ok(model.UpsertCell{Cell: cell("c1", 2048)})
	got, _ = h.fsm.View().Cell("c1")
	if got.Capacity.MemoryMB != 2048 || !got.Since.Equal(t0) {
		t.Errorf("capacity change: %+v", got)
	}
	drain := cell("c1", 2048)
	drain.State = model.CellDraining
	h.ok(model.UpsertCell{Cell: drain})
	got, _ = h.fsm.View().Cell("c1")
	if got.State != model.CellDraining || !got.Since.Equal(h.now) {
		t.Errorf("state change: %+v", got)
	}

	h.reject(model.UpsertCell{Cell: cell("bad id", 1)}, model.CodeInvalidRequest)
	bad := cell("c2", 1)
	bad.State = "ON_FIRE"
	h.reject(model.UpsertCell{Cell: bad}, model.CodeInvalidRequest)
	if _, ok := h.fsm.View().Cell("c2"); ok {
		t.Error("invalid cell stored")
	}
}

func TestSetCellStateAndRemoveCell(t *testing.T) {
	h := newHarness(t)
	h.reject(model.SetCellState{CellID: "c1", State: model.CellLost}, model.CodeNotFound)
	h.ok(model.UpsertCell{Cell: cell("c1", 1024)})
	h.reject(model.SetCellState{CellID: "c1", State: "GONE"}, model.CodeInvalidRequest)
	h.advance(time.Minute)
	h.ok(model.SetCellState{CellID: "c1", State: model.CellAlive}) // no change
	if got, _ := h.fsm.View().Cell("c1"); !got.Since.Equal(t0) {
		t.Errorf("same state moved since: %v", got.Since)
	}
	h.ok(model.SetCellState{CellID: "c1", State: model.CellLost})
	if got, _ := h.fsm.View().Cell("c1"); got.State != model.CellLost || !got.Since.Equal(h.now) {
		t.Errorf("lost: %+v", got)
	}
	h.ok(model.RemoveCell{CellID: "c1"})
	if _, ok := h.fsm.View().Cell("c1"); ok {
		t.Error("cell still there")
	}
	h.reject(model.RemoveCell{CellID: "c1"}, model.CodeNotFound)
}

func TestViewQueries(t *testing.T) {
	h := newHarness(t)
	h.ok(model.UpsertCell{Cell: cell("b", 4096)}, model.UpsertCell{Cell: cell("a", 4096)},
		model.DesireLRP{LRP: lrp("z", 2)}, model.DesireLRP{LRP: lrp("app", 12)}, model.DesireLRP{LRP: lrp("app2", 1)})
	h.running("app", 10, "i10", "a")
	h.running("app", 2, "i2", "a")
	h.ok(claim("z", 1, "iz", "a"), claim("app2", 0, "i", "b"))

	v := h.fsm.View()
	if v.Index() != h.index {
		t.Errorf("index: got %d, want %d", v.Index(), h.index)
	}
	var guids []string
	for _, d := range v.DesiredLRPs() {
		guids = append(guids, d.ProcessGUID)
	}
	if want := []string{"app", "app2", "z"}; !equalStrings(guids, want) {
		t.Errorf("desired order: got %v, want %v", guids, want)
	}
	all := v.ActualLRPs()
	if len(all) != 15 {
		t.Fatalf("actuals: got %d, want 15", len(all))
	}
	for i := 1; i < len(all); i++ {
		a, b := all[i-1], all[i]
		if a.ProcessGUID > b.ProcessGUID || a.ProcessGUID == b.ProcessGUID && a.Index >= b.Index {
			t.Errorf("actual order: %s before %s", fmtRow(a), fmtRow(b))
		}
	}
	if got := v.ActualLRPsByProcess("app"); len(got) != 12 || got[2].Index != 2 || got[10].Index != 10 {
		t.Errorf("by process: %d rows", len(got))
	}
	onA := v.ActualLRPsByCell("a")
	if len(onA) != 3 || onA[0].Index != 2 || onA[1].Index != 10 || onA[2].ProcessGUID != "z" {
		t.Errorf("by cell a: %v", onA)
	}
	if got := v.ActualLRPsByCell(""); got != nil {
		t.Errorf("by empty cell: %v", got)
	}
	cells := v.Cells()
	if len(cells) != 2 || cells[0].CellID != "a" {
		t.Errorf("cells: %v", cells)
	}
	alloc := v.CellAllocations()
	if alloc["a"].Containers != 3 || alloc["b"].Containers != 1 || alloc["a"].MemoryMB != 384 {
		t.Errorf("allocations: %+v", alloc)
	}
	// A view is a snapshot: later changes do not show.
	h.ok(model.RemoveDesiredLRP{ProcessGUID: "app"})
	if got := len(v.ActualLRPs()); got != 15 {
		t.Errorf("old view changed: %d rows", got)
	}
	if got := len(h.fsm.View().ActualLRPs()); got != 3 {
		t.Errorf("new view: %d rows, want 3", got)
	}
	// Returned slices are copies.
	rows := v.ActualLRPsByProcess("z")
	rows[0].State = "MUTATED"
	if again := v.ActualLRPsByProcess("z"); again[0].State == "MUTATED" {
		t.Error("view returned shared records")
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
