package routing

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/diegod/diegod/model"
	"github.com/rs/zerolog"
)

func TestRouteAppearsWhenInstanceRuns(t *testing.T) {
	src := newFakeSource()
	b := newBackend(t, 0, nil)
	src.putDesired(desiredLRP("late", 1, "late.home"))
	rt := startRouter(t, testConfig(), src, nil, nil, nil)
	if code, _ := rt.get(t, "late.home", "/"); code != http.StatusServiceUnavailable {
		t.Fatalf("before RUNNING: got %d, want 503", code)
	}
	start := time.Now()
	src.putActuals(runningAt("late", 0, b.addr()))
	waitFor(t, 5*time.Second, "route to the new instance", func() bool { return poolSize(rt.srv.Router(), "late.home") == 1 })
	t.Logf("route visible %s after the RUNNING commit", time.Since(start))
	if code, body := rt.get(t, "late.home", "/"); code != 200 || body != "index=0" {
		t.Fatalf("after RUNNING: got %d %q", code, body)
	}
}

func TestWatcherResubscribesWhenSubscriptionCloses(t *testing.T) {
	src := newFakeSource()
	b := newBackend(t, 0, nil)
	src.putDesired(desiredLRP("re", 1, "re.home"))
	rt := startRouter(t, testConfig(), src, nil, nil, nil)
	if got := src.subscribe.Load(); got != 1 {
		t.Fatalf("subscriptions: got %d, want 1", got)
	}
	src.dropSubscribers()
	waitFor(t, 5*time.Second, "resubscription", func() bool { return src.subscribe.Load() == 2 })
	src.putActuals(runningAt("re", 0, b.addr()))
	waitFor(t, 5*time.Second, "route after resubscribing", func() bool { return poolSize(rt.srv.Router(), "re.home") == 1 })
}

func TestWatcherRebuildsOnlyForRoutingChanges(t *testing.T) {
	src := newFakeSource()
	src.putDesired(desiredLRP("routed", 2, "r.home"))
	src.putDesired(desiredLRP("worker", 1)) // no routes
	published := make(chan *Table, 16)
	w := NewWatcher(src, "", 16, func(tab *Table) { published <- tab }, nil, zerolog.Nop())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	<-published
	before := src.snapshots.Load()

	// Irrelevant: a process without routes runs; a routed row is claimed.
	// Each batch is read on its own (not coalesced with the next).
	consumed := func() { waitFor(t, 5*time.Second, "batch read", func() bool { return src.pending() == 0 }) }
	src.putActuals(runningAt("worker", 0, "127.0.0.1:1"))
	consumed()
	claimed := runningAt("routed", 1, "127.0.0.1:2")
	claimed.State, claimed.ActualLRPNetInfo = model.StateClaimed, model.ActualLRPNetInfo{}
	src.putActuals(claimed)
	consumed()
	// Relevant: a routed row runs.
	src.putActuals(runningAt("routed", 0, "127.0.0.1:3"))
	tab := <-published
	if got := tab.EndpointCount(); got != 1 {
		t.Fatalf("endpoints: got %d, want 1", got)
	}
	if got := src.snapshots.Load() - before; got != 1 {
		t.Fatalf("snapshots read for 3 batches (1 relevant): got %d, want 1", got)
	}
	select {
	case extra := <-published:
		t.Fatalf("unexpected extra table at index %d", extra.Index())
	default:
	}
}

func TestTouchesRouting(t *testing.T) {
	routed := desiredLRP("web", 1, "web.home")
	cur := Build(Snapshot{Desired: []model.DesiredLRP{routed}}, "")
	running := runningAt("web", 0, "10.0.0.2:61000")
	moved := running
	moved.ActualLRPNetInfo = model.ActualLRPNetInfo{Address: "10.0.0.3", Ports: []model.PortMapping{{ContainerPort: 8080, HostPort: 61000}}}
	heartbeat := running
	heartbeat.ModificationTag.Index++
	crashed := running
	crashed.State, crashed.ActualLRPInstanceKey, crashed.ActualLRPNetInfo = model.StateCrashed, model.ActualLRPInstanceKey{}, model.ActualLRPNetInfo{}
	unrouted := runningAt("other", 0, "10.0.0.2:61001")
	newRoutes := routed
	newRoutes.Routes = []string{"web.home", "www.home"}
	otherAnnotation := routed
	otherAnnotation.Annotation = "x"
	tests := []struct {
		name string
		e    model.Event
		want bool
	}{
		{"instance starts running", model.Event{Type: model.EventActualLRPInstanceCreated, ActualAfter: &running}, true},
		{"running instance removed", model.Event{Type: model.EventActualLRPInstanceRemoved, ActualBefore: &running}, true},
		{"running instance crashes", model.Event{Type: model.EventActualLRPInstanceChanged, ActualBefore: &running, ActualAfter: &crashed}, true},
		{"net info changes", model.Event{Type: model.EventActualLRPInstanceChanged, ActualBefore: &running, ActualAfter: &moved}, true},
		{"same net info, new tag", model.Event{Type: model.EventActualLRPInstanceChanged, ActualBefore: &running, ActualAfter: &heartbeat}, false},
		{"process without routes", model.Event{Type: model.EventActualLRPInstanceCreated, ActualAfter: &unrouted}, false},
		{"desired with routes created", model.Event{Type: model.EventDesiredLRPCreated, DesiredAfter: &routed}, true},
		{"desired routes change", model.Event{Type: model.EventDesiredLRPChanged, DesiredBefore: &routed, DesiredAfter: &newRoutes}, true},
		{"desired annotation changes", model.Event{Type: model.EventDesiredLRPChanged, DesiredBefore: &routed, DesiredAfter: &otherAnnotation}, false},
		{"desired removed", model.Event{Type: model.EventDesiredLRPRemoved, DesiredBefore: &routed}, true},
		{"cell event", model.Event{Type: model.EventCellChanged, CellAfter: &model.Cell{}}, false},
	}
	for _, tt := range tests {
		if got := touchesRouting(cur, []model.Event{tt.e}); got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
}
