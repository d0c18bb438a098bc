package raftstore

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/diegod/diegod/model"
)

// next receives one value from ch or fails.
func recv(t *testing.T, ch <-chan []model.Event) []model.Event {
	t.Helper()
	select {
	case ev, ok := <-ch:
		if !ok {
			t.Fatal("channel closed")
		}
		return ev
	case <-time.After(5 * time.Second):
		t.Fatal("no events")
	}
	return nil
}

func wantTypes(t *testing.T, got []model.Event, want ...model.EventType) {
	t.Helper()
	if g := eventTypes(got); !reflect.DeepEqual(g, want) {
		t.Fatalf("event types: got %v, want %v", g, want)
	}
}

func TestEventsCreatedChangedRemoved(t *testing.T) {
	h := newHarness(t)
	sub := h.fsm.Hub().Subscribe(t.Context(), 100)

	h.ok(model.UpsertCell{Cell: cell("c1", 4096)})
	ev := recv(t, sub)
	wantTypes(t, ev, model.EventCellChanged)
	if ev[0].CellBefore != nil || ev[0].CellAfter == nil || ev[0].CellAfter.CellID != "c1" || ev[0].Index != 1 {
		t.Errorf("cell created event: %+v", ev[0])
	}

	h.ok(model.DesireLRP{LRP: lrp("app", 2)})
	ev = recv(t, sub)
	wantTypes(t, ev, model.EventDesiredLRPCreated, model.EventActualLRPInstanceCreated, model.EventActualLRPInstanceCreated)
	for _, e := range ev {
		if e.Index != 2 {
			t.Errorf("event index: got %d, want 2", e.Index)
		}
	}
	if ev[1].ActualBefore != nil || ev[1].ActualAfter == nil || ev[1].ActualAfter.State != model.StateUnclaimed {
		t.Errorf("instance created: %+v", ev[1])
	}

	h.ok(claim("app", 0, "i0", "c1"))
	ev = recv(t, sub)
	wantTypes(t, ev, model.EventActualLRPInstanceChanged)
	if ev[0].ActualBefore.State != model.StateUnclaimed || ev[0].ActualAfter.State != model.StateClaimed {
		t.Errorf("claim change: %s -> %s", ev[0].ActualBefore.State, ev[0].ActualAfter.State)
	}
	if !ev[0].ActualBefore.ModificationTag.SucceededBy(&ev[0].ActualAfter.ModificationTag) {
		t.Errorf("tags not ordered: %+v then %+v", ev[0].ActualBefore.ModificationTag, ev[0].ActualAfter.ModificationTag)
	}

	h.ok(model.StartActualLRP{Key: key("app", 0), InstanceKey: ikey("i0", "c1"), NetInfo: netInfo("h", 1)})
	wantTypes(t, recv(t, sub), model.EventActualLRPInstanceChanged)

	h.ok(model.CrashActualLRP{Key: key("app", 0), InstanceKey: ikey("i0", "c1"), Reason: "boom"})
	ev = recv(t, sub)
	wantTypes(t, ev, model.EventActualLRPCrashed, model.EventActualLRPInstanceChanged)
	if ev[0].ActualBefore.State != model.StateRunning || ev[0].ActualAfter.CrashCount != 1 || ev[0].ActualAfter.CrashReason != "boom" {
		t.Errorf("crashed event: %+v -> %+v", ev[0].ActualBefore, ev[0].ActualAfter)
	}

	h.ok(model.RemoveDesiredLRP{ProcessGUID: "app"})
	ev = recv(t, sub)
	wantTypes(t, ev, model.EventActualLRPInstanceRemoved, model.EventActualLRPInstanceRemoved, model.EventDesiredLRPRemoved)
	if ev[0].ActualAfter != nil || ev[0].ActualBefore == nil || ev[2].DesiredBefore.ProcessGUID != "app" {
		t.Errorf("removed events: %+v", ev)
	}

	h.ok(model.RemoveCell{CellID: "c1"})
	wantTypes(t, recv(t, sub), model.EventCellRemoved)

	// A rejected command and a no-op publish nothing.
	h.reject(model.RemoveCell{CellID: "c1"}, model.CodeNotFound)
	select {
	case ev := <-sub:
		t.Errorf("rejection published %v", eventTypes(ev))
	default:
	}
}

func TestEventsSuspectAndPromoteOrder(t *testing.T) {
	h := setup(t, 1)
	h.running("app", 0, "i0", "c1")
	h.ok(model.SetCellState{CellID: "c1", State: model.CellLost})
	sub := h.fsm.Hub().Subscribe(t.Context(), 100)
	h.ok(model.SuspectActualLRP{Key: key("app", 0)})
	ev := recv(t, sub)
	wantTypes(t, ev, model.EventActualLRPInstanceChanged, model.EventActualLRPInstanceCreated)
	if ev[0].ActualBefore.InstanceGUID != "i0" || ev[0].ActualAfter.State != model.StateUnclaimed ||
		ev[1].ActualAfter.Presence != model.PresenceSuspect || ev[1].ActualAfter.InstanceGUID != "i0" {
		t.Errorf("suspect events: %+v", ev)
	}
	h.ok(model.SetCellState{CellID: "c1", State: model.CellAlive})
	recv(t, sub)
	h.ok(model.PromoteSuspectActualLRP{Key: key("app", 0)})
	ev = recv(t, sub)
	wantTypes(t, ev, model.EventActualLRPInstanceRemoved, model.EventActualLRPInstanceChanged)
	if ev[0].ActualBefore.Presence != model.PresenceSuspect || ev[1].ActualAfter.InstanceGUID != "i0" {
		t.Errorf("promote events: %+v", ev)
	}
}

func TestEventsMakeBeforeBreak(t *testing.T) {
	h := suspectSetup(t)
	h.ok(claim("app", 0, "r0", "c2"))
	sub := h.fsm.Hub().Subscribe(t.Context(), 100)
	h.ok(model.StartActualLRP{Key: key("app", 0), InstanceKey: ikey("r0", "c2"), NetInfo: netInfo("h2", 2)})
	ev := recv(t, sub)
	wantTypes(t, ev, model.EventActualLRPInstanceChanged, model.EventActualLRPInstanceRemoved)
	if ev[1].ActualBefore.Presence != model.PresenceSuspect {
		t.Errorf("removed: %+v", ev[1].ActualBefore)
	}
}

func TestHubOverflowClosesSubscriber(t *testing.T) {
	h := newHarness(t)
	slow := h.fsm.Hub().Subscribe(t.Context(), 2)
	fast := h.fsm.Hub().Subscribe(t.Context(), 100)
	for i := 0; i < 3; i++ {
		h.ok(model.UpsertCell{Cell: cell("c"+string(rune('a'+i)), 1)})
	}
	// The two buffered values are still delivered, then the close.
	recv(t, slow)
	recv(t, slow)
	select {
	case ev, ok := <-slow:
		if ok {
			t.Fatalf("slow subscriber got a third value %v, want its channel closed", eventTypes(ev))
		}
	case <-time.After(5 * time.Second):
		t.Fatal("slow subscriber not closed")
	}
	for i := 0; i < 3; i++ {
		recv(t, fast)
	}
	if n := h.fsm.Hub().Subscribers(); n != 1 {
		t.Errorf("subscribers: got %d, want 1", n)
	}
}

func TestHubContextCancelCloses(t *testing.T) {
	hub := NewHub()
	ctx, cancel := context.WithCancel(context.Background())
	ch := hub.Subscribe(ctx, 0)
	cancel()
	select {
	case _, ok := <-ch:
		if ok {
			t.Fatal("got a value, want close")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("channel not closed after cancel")
	}
	waitFor(t, 5*time.Second, "subscriber removed", func() bool { return hub.Subscribers() == 0 })

	hub.Close()
	if _, ok := <-hub.Subscribe(context.Background(), 1); ok {
		t.Error("subscribe after close: channel open")
	}
}
