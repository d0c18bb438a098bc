package raftstore

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/diegod/diegod/model"
	"github.com/rs/zerolog"
)

// countingRecorder records what the tests look at.
type countingRecorder struct {
	NopRecorder
	mu       sync.Mutex
	skipped  int
	applied  map[string]int
	rejected map[model.Code]int
	entries  []int
}

func newCountingRecorder() *countingRecorder {
	return &countingRecorder{applied: map[string]int{}, rejected: map[model.Code]int{}}
}

func (r *countingRecorder) ClaimsSkipped(n int) { r.mu.Lock(); r.skipped += n; r.mu.Unlock() }
func (r *countingRecorder) CommandApplied(c string) {
	r.mu.Lock()
	r.applied[c]++
	r.mu.Unlock()
}
func (r *countingRecorder) CommandRejected(_ string, code model.Code) {
	r.mu.Lock()
	r.rejected[code]++
	r.mu.Unlock()
}
func (r *countingRecorder) EntryApplied(n int) {
	r.mu.Lock()
	r.entries = append(r.entries, n)
	r.mu.Unlock()
}

func TestClaimBatchCapacity(t *testing.T) {
	h := newHarness(t)
	// 300 MB holds two 128 MB instances, not three.
	h.ok(model.UpsertCell{Cell: cell("c1", 300)}, model.UpsertCell{Cell: cell("c2", 4096)},
		model.DesireLRP{LRP: lrp("app", 4)})
	h.advance(time.Second)
	h.ok(model.ClaimBatch{Placements: []model.Placement{
		{Key: key("app", 0), InstanceKey: ikey("i0", "c1")},
		{Key: key("app", 1), InstanceKey: ikey("i1", "c1")},
		{Key: key("app", 2), InstanceKey: ikey("i2", "c1")}, // over-commit
		{Key: key("app", 3), InstanceKey: ikey("i3", "c2")},
	}})
	for i, want := range []model.ActualLRPState{model.StateClaimed, model.StateClaimed, model.StateUnclaimed, model.StateClaimed} {
		if got := h.ord("app", i); got.State != want {
			t.Errorf("row %d: got %s, want %s", i, fmtRow(got), want)
		}
	}
	got := h.ord("app", 0)
	if got.InstanceGUID != "i0" || got.CellID != "c1" || !got.Since.Equal(h.now) || got.ModificationTag.Index != 1 {
		t.Errorf("claimed row: %s since %v tag %+v", fmtRow(got), got.Since, got.ModificationTag)
	}
	if err := got.Validate(); err != nil {
		t.Errorf("claimed row invalid: %v", err)
	}
	if alloc := h.fsm.View().CellAllocations()["c1"]; alloc != (model.Resources{MemoryMB: 256, DiskMB: 512, Containers: 2}) {
		t.Errorf("c1 allocation: %+v", alloc)
	}

	// A later batch sees the existing claims; RUNNING rows count too.
	h.running("app", 0, "i0", "c1") // already claimed: the claim is skipped, the start succeeds
	h.ok(claim("app", 2, "i2", "c1"))
	if got := h.ord("app", 2); got.State != model.StateUnclaimed {
		t.Errorf("claim on full cell: %s", fmtRow(got))
	}
	// A crash frees the room.
	h.ok(model.CrashActualLRP{Key: key("app", 0), InstanceKey: ikey("i0", "c1"), Reason: "x"})
	h.ok(claim("app", 2, "i2", "c1"))
	if got := h.ord("app", 2); got.State != model.StateClaimed {
		t.Errorf("claim after crash freed room: %s", fmtRow(got))
	}
}

func TestClaimBatchSkipsStale(t *testing.T) {
	rec := newCountingRecorder()
	h := newHarness(t)
	h.fsm = NewFSM(nil, rec, zerolog.Nop())
	h.ok(model.UpsertCell{Cell: cell("alive", 4096)}, model.UpsertCell{Cell: cell("draining", 4096)},
		model.UpsertCell{Cell: cell("lost", 4096)},
		model.SetCellState{CellID: "draining", State: model.CellDraining},
		model.SetCellState{CellID: "lost", State: model.CellLost},
		model.DesireLRP{LRP: lrp("app", 6)})
	h.ok(claim("app", 0, "first", "alive"))
	claimed := h.ord("app", 0)

	res := h.apply(model.ClaimBatch{Placements: []model.Placement{
		{Key: key("app", 0), InstanceKey: ikey("second", "alive")}, // already CLAIMED
		{Key: key("app", 1), InstanceKey: ikey("i1", "unknown")},   // no such cell
		{Key: key("app", 2), InstanceKey: ikey("i2", "draining")},  // not ALIVE
		{Key: key("app", 3), InstanceKey: ikey("i3", "lost")},      // not ALIVE
		{Key: key("app", 4), InstanceKey: ikey("", "alive")},       // no instance guid
		{Key: key("gone", 0), InstanceKey: ikey("ig", "alive")},    // no such row
		{Key: key("app", 5), InstanceKey: ikey("i5", "alive")},     // fine
	}, Failures: []model.PlacementFailure{
		{Key: key("app", 0), Error: "late failure"}, // CLAIMED: skipped
	}})
	if res[0] != nil {
		t.Fatalf("claim batch: got %v, want no error", res[0])
	}
	if got := h.ord("app", 0); got.InstanceGUID != "first" || got.ModificationTag != claimed.ModificationTag || got.PlacementError != "" {
		t.Errorf("stale placement changed the row: %s", fmtRow(got))
	}
	for i := 1; i <= 4; i++ {
		if got := h.ord("app", i); got.State != model.StateUnclaimed {
			t.Errorf("row %d: got %s, want UNCLAIMED", i, fmtRow(got))
		}
	}
	if got := h.ord("app", 5); got.State != model.StateClaimed {
		t.Errorf("row 5: got %s, want CLAIMED", fmtRow(got))
	}
	if rec.skipped != 7 {
		t.Errorf("skipped: got %d, want 7", rec.skipped)
	}
}

func TestClaimBatchFailures(t *testing.T) {
	h := newHarness(t)
	h.ok(model.UpsertCell{Cell: cell("c1", 4096)}, model.DesireLRP{LRP: lrp("app", 2)})
	h.advance(time.Second)
	long := strings.Repeat("e", 5000)
	h.ok(model.ClaimBatch{Failures: []model.PlacementFailure{{Key: key("app", 0), Error: long}, {Key: key("app", 1)}}})
	got := h.ord("app", 0)
	if got.State != model.StateUnclaimed || len(got.PlacementError) != model.MaxReasonSize || !got.Since.Equal(h.now) {
		t.Errorf("failure: %s (%d bytes) since %v", got.State, len(got.PlacementError), got.Since)
	}
	if got.ModificationTag.Index != 1 {
		t.Errorf("failure tag: %+v", got.ModificationTag)
	}
	if got := h.ord("app", 1); got.PlacementError == "" {
		t.Errorf("empty failure text left no placement error")
	}
	// A later placement clears the error.
	h.ok(claim("app", 0, "i0", "c1"))
	if got := h.ord("app", 0); got.PlacementError != "" || got.State != model.StateClaimed {
		t.Errorf("claim after failure: %s", fmtRow(got))
	}
}

// TestClaimBatchLarge checks that 5,000 placements on one cell in one batch
// are all accepted exactly up to its capacity (the allocation is debited as
// placements are accepted). BenchmarkClaimBatch reports the speed.
func TestClaimBatchLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	const n = 5000
	h := newHarness(t)
	c := cell("big", n*128)
	c.Capacity.Containers = n
	d := lrp("app", n)
	h.ok(model.UpsertCell{Cell: c}, model.DesireLRP{LRP: d})
	batch := model.ClaimBatch{}
	for i := 0; i < n; i++ {
		batch.Placements = append(batch.Placements, model.Placement{Key: key("app", i), InstanceKey: ikey(fmt.Sprintf("i%d", i), "big")})
	}
	batch.Placements = append(batch.Placements, model.Placement{Key: key("app", 0), InstanceKey: ikey("dup", "big")})
	h.ok(batch)
	if got := h.fsm.View().CellAllocations()["big"]; got.Containers != n {
		t.Fatalf("claimed %d, want %d", got.Containers, n)
	}
	// The cell is now full: one more instance does not fit.
	more := n + 1
	h.ok(model.UpdateDesiredLRP{ProcessGUID: "app", Update: model.DesiredLRPUpdate{Instances: &more}})
	h.ok(claim("app", n, "extra", "big"))
	if got := h.ord("app", n); got.State != model.StateUnclaimed {
		t.Errorf("claim on full cell: %s", fmtRow(got))
	}
}
