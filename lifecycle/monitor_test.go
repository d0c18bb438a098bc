package lifecycle_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/diegod/diegod/lifecycle"
	"github.com/diegod/diegod/lifecycle/lifecycletest"
)

func TestMonitorNeverHealthy(t *testing.T) {
	checker := lifecycletest.NewFakeChecker()
	checker.SetDefault(errors.New("Failed to make TCP connection to port 8080: connection refused"))
	var healthy atomic.Bool
	var failure atomic.Value
	m := &lifecycle.Monitor{
		Checker:         checker,
		StartupInterval: time.Millisecond,
		StartTimeout:    40 * time.Millisecond,
		OnHealthy:       func() { healthy.Store(true) },
		OnFailure:       func(err error) { failure.Store(err) },
	}
	err := m.Run(context.Background())
	want := "Instance never healthy after 40ms: Failed to make TCP connection to port 8080: connection refused"
	if got := lifecycle.Reason(err); got != want {
		t.Fatalf("reason: got %q, want %q", got, want)
	}
	var he *lifecycle.HealthError
	if !errors.As(err, &he) || !he.Startup {
		t.Fatalf("err %v: want a startup *HealthError", err)
	}
	if healthy.Load() {
		t.Fatal("OnHealthy called for an instance that never passed")
	}
	if failure.Load() == nil {
		t.Fatal("OnFailure not called")
	}
	if checker.Calls() < 2 {
		t.Fatalf("checks: got %d, want several during startup", checker.Calls())
	}
}

func TestMonitorBecomesUnhealthy(t *testing.T) {
	// Fails twice during startup, passes, passes once more, then fails.
	checker := lifecycletest.NewFakeChecker(errors.New("refused"), errors.New("refused"), nil, nil, errors.New("received status code 500"))
	var healthyCalls atomic.Int32
	m := &lifecycle.Monitor{
		Checker:         checker,
		StartupInterval: time.Millisecond,
		Interval:        time.Millisecond,
		OnHealthy:       func() { healthyCalls.Add(1) },
	}
	err := m.Run(context.Background())
	if got, want := lifecycle.Reason(err), "Instance became unhealthy: received status code 500"; got != want {
		t.Fatalf("reason: got %q, want %q", got, want)
	}
	if got := healthyCalls.Load(); got != 1 {
		t.Fatalf("OnHealthy calls: got %d, want 1", got)
	}
	if got := checker.Calls(); got != 5 {
		t.Fatalf("checks: got %d, want 5", got)
	}
}

func TestMonitorNoStartTimeoutKeepsTrying(t *testing.T) {
	checker := lifecycletest.NewFakeChecker()
	checker.SetDefault(errors.New("refused"))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- (&lifecycle.Monitor{Checker: checker, StartupInterval: time.Millisecond}).Run(ctx)
	}()
	waitFor(t, 5*time.Second, "many startup checks", func() bool { return checker.Calls() >= 20 })
	cancel()
	if err := <-done; !lifecycle.IsCancelled(err) {
		t.Fatalf("err: got %v, want cancelled", err)
	}
}

// TestMonitorStartupRampsUpToTheInterval: the first failed probes are
// retried after 50 ms, 100 ms, ... rather than after the full startup
// interval, so an app that listens a moment after it starts is healthy at
// once. With a one-hour interval and no ramp this test would time out.
func TestMonitorStartupRampsUpToTheInterval(t *testing.T) {
	refused := errors.New("connection refused")
	checker := lifecycletest.NewFakeChecker(refused, refused, refused)
	healthy := make(chan struct{})
	m := &lifecycle.Monitor{Checker: checker, StartupInterval: time.Hour, Interval: time.Hour,
		OnHealthy: func() { close(healthy) }}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	select {
	case <-healthy:
	case <-time.After(30 * time.Second):
		t.Fatalf("not healthy after 30 s with a one-hour startup interval (calls: %d)", checker.Calls())
	}
	if got := checker.Calls(); got != 4 {
		t.Errorf("probes until healthy: got %d, want 4", got)
	}
	cancel()
	<-done
}
