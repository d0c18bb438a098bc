package raftstore

import (
	"bytes"
	"io"
	"reflect"
	"testing"

	"github.com/rs/zerolog"

	"github.com/diegod/diegod/model"
)

// setupEvacuation returns a harness with cells a (draining) and b (alive)
// and web/0 RUNNING on a under instance i1.
func setupEvacuation(t *testing.T) *fsmHarness {
	t.Helper()
	h := newHarness(t)
	h.ok(model.UpsertCell{Cell: cell("a", 1024)}, model.UpsertCell{Cell: cell("b", 1024)})
	h.ok(model.DesireLRP{LRP: lrp("web", 1)})
	h.running("web", 0, "i1", "a")
	h.ok(model.SetCellState{CellID: "a", State: model.CellDraining})
	return h
}

func TestEvacuateRunningMakesBeforeBreak(t *testing.T) {
	h := setupEvacuation(t)
	before := h.ord("web", 0)
	sub := h.fsm.Hub().Subscribe(t.Context(), 10)
	h.ok(model.EvacuateRunningActualLRP{Key: key("web", 0), InstanceKey: ikey("i1", "a")})

	evac := h.row("web", 0, model.PresenceEvacuating)
	if evac.State != model.StateRunning || evac.ActualLRPInstanceKey != ikey("i1", "a") ||
		!reflect.DeepEqual(evac.ActualLRPNetInfo, before.ActualLRPNetInfo) {
		t.Errorf("evacuating row: got %s, want RUNNING copy of %s", fmtRow(evac), fmtRow(before))
	}
	ord := h.ord("web", 0)
	if ord.State != model.StateUnclaimed || !ord.ActualLRPInstanceKey.Empty() || ord.CrashCount != before.CrashCount {
		t.Errorf("ordinary row: got %s, want UNCLAIMED", fmtRow(ord))
	}
	got := eventTypes(<-sub)
	want := []model.EventType{model.EventActualLRPInstanceChanged, model.EventActualLRPInstanceCreated}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("events: got %v, want %v", got, want)
	}
	// The evacuating copy still reserves its resources on the draining cell.
	if alloc := h.fsm.View().CellAllocations()["a"]; alloc.Containers != 1 {
		t.Errorf("allocation on a: got %+v, want one container", alloc)
	}

	// The auction cannot place on the draining cell; it places on b and the
	// replacement's start deletes the evacuating copy.
	skipped := h.apply(claim("web", 0, "i2", "a"))
	if skipped[0] != nil || h.ord("web", 0).State != model.StateUnclaimed {
		t.Fatalf("claim on a draining cell was accepted: %s", fmtRow(h.ord("web", 0)))
	}
	// A heartbeat of the evacuating instance refreshes its own row only.
	h.ok(model.StartActualLRP{Key: key("web", 0), InstanceKey: ikey("i1", "a"), NetInfo: netInfo("192.168.1.10", 61000)})
	if got := h.ord("web", 0); got.State != model.StateUnclaimed {
		t.Fatalf("heartbeat of the evacuating instance took the ordinary row: %s", fmtRow(got))
	}
	h.running("web", 0, "i2", "b")
	h.noRow("web", 0, model.PresenceEvacuating)
	if got := h.ord("web", 0); got.State != model.StateRunning || got.CellID != "b" {
		t.Errorf("replacement: got %s, want RUNNING on b", fmtRow(got))
	}
}

func TestEvacuateRunningRejections(t *testing.T) {
	tests := []struct {
		name string
		cmd  model.EvacuateRunningActualLRP
		code model.Code
	}{
		{"no instance key", model.EvacuateRunningActualLRP{Key: key("web", 0)}, model.CodeInvalidRequest},
		{"unknown index", model.EvacuateRunningActualLRP{Key: key("web", 5), InstanceKey: ikey("i1", "a")}, model.CodeNotFound},
		{"other instance", model.EvacuateRunningActualLRP{Key: key("web", 0), InstanceKey: ikey("i9", "a")}, model.CodeInvalidTransition},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := setupEvacuation(t)
			h.reject(tt.cmd, tt.code)
			if got := h.ord("web", 0); got.State != model.StateRunning {
				t.Errorf("rejected evacuation changed the row: %s", fmtRow(got))
			}
		})
	}
	t.Run("claimed row", func(t *testing.T) {
		h := newHarness(t)
		h.ok(model.UpsertCell{Cell: cell("a", 1024)}, model.DesireLRP{LRP: lrp("web", 1)})
		h.ok(claim("web", 0, "i1", "a"))
		h.reject(model.EvacuateRunningActualLRP{Key: key("web", 0), InstanceKey: ikey("i1", "a")}, model.CodeInvalidTransition)
	})
}

func TestEvacuatingCrashDeletesCopy(t *testing.T) {
	h := setupEvacuation(t)
	h.ok(model.EvacuateRunningActualLRP{Key: key("web", 0), InstanceKey: ikey("i1", "a")})
	h.ok(model.CrashActualLRP{Key: key("web", 0), InstanceKey: ikey("i1", "a"), Reason: "boom"})
	h.noRow("web", 0, model.PresenceEvacuating)
	if got := h.ord("web", 0); got.State != model.StateUnclaimed || got.CrashCount != 0 {
		t.Errorf("ordinary row after the evacuating copy crashed: %s", fmtRow(got))
	}
}

func TestRotateJoinSecretSurvivesSnapshot(t *testing.T) {
	h := newHarness(t)
	if got := h.fsm.View().JoinNonce(); got != 0 {
		t.Fatalf("initial nonce: got %d, want 0", got)
	}
	h.reject(model.RotateJoinSecret{}, model.CodeInvalidRequest)
	h.ok(model.RotateJoinSecret{Nonce: 42})
	if got := h.fsm.View().JoinNonce(); got != 42 {
		t.Fatalf("nonce: got %d, want 42", got)
	}
	snap, err := h.fsm.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	sink := &memSink{}
	if err := snap.Persist(sink); err != nil {
		t.Fatal(err)
	}
	restored := NewFSM(nil, nil, zerolog.Nop())
	if err := restored.Restore(io.NopCloser(bytes.NewReader(sink.Bytes()))); err != nil {
		t.Fatalf("restore: %v", err)
	}
	if got := restored.View().JoinNonce(); got != 42 {
		t.Errorf("restored nonce: got %d, want 42", got)
	}
	if got, want := restored.AppliedIndex(), h.fsm.AppliedIndex(); got != want {
		t.Errorf("restored applied index: got %d, want %d", got, want)
	}
}
