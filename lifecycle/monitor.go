package lifecycle

import (
	"context"
	"time"
)

// Monitor intervals (spec §6.4).
const (
	// DefaultStartupInterval is the probe interval until the first success
	// (Diego's unhealthy_monitoring_interval).
	DefaultStartupInterval = 2 * time.Second
	// DefaultStartupFirstInterval is the wait after the first failed
	// startup probe; it doubles after each failure up to the startup
	// interval. Diego waits the full 2 s from the first probe, which delays
	// every instance whose process needs a few milliseconds to listen.
	DefaultStartupFirstInterval = 50 * time.Millisecond
	// DefaultLivenessInterval is the probe interval once healthy (Diego's
	// healthy_monitoring_interval).
	DefaultLivenessInterval = 30 * time.Second
)

// Monitor is the health-monitor step of an instance. It probes at once,
// then after StartupFirstInterval, doubling the wait after every failure up
// to StartupInterval, until a probe passes; if StartTimeout (0 = no
// limit) runs out first it fails with "Instance never healthy after <d>:
// <last failure>". After the first success it calls OnHealthy and probes
// every Interval; the first failure ends it with "Instance became
// unhealthy: <failure>". Both failures are a *UserError wrapping a
// *HealthError. It returns ErrCancelled when ctx ends.
type Monitor struct {
	Checker Checker
	// StartupInterval defaults to DefaultStartupInterval.
	StartupInterval time.Duration
	// StartupFirstInterval is the first wait between startup probes
	// (default DefaultStartupFirstInterval, never above StartupInterval).
	StartupFirstInterval time.Duration
	// StartTimeout bounds the startup phase; 0 means no limit.
	StartTimeout time.Duration
	// Interval is the liveness interval; it defaults to
	// DefaultLivenessInterval.
	Interval time.Duration
	// OnHealthy, when set, is called once, when the first probe passes.
	OnHealthy func()
	// OnFailure, when set, is called with the failure that ends the
	// monitor, before Run returns it.
	OnFailure func(err error)
}

// Run monitors until the instance fails its checks or ctx ends.
func (m *Monitor) Run(ctx context.Context) error {
	if err := m.startup(ctx); err != nil {
		return err
	}
	if m.OnHealthy != nil {
		m.OnHealthy()
	}
	interval := m.Interval
	if interval <= 0 {
		interval = DefaultLivenessInterval
	}
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return ErrCancelled
		case <-ticker.C:
		}
		if err := m.Checker.Check(ctx); err != nil {
			if ctx.Err() != nil {
				return ErrCancelled
			}
			return m.fail(&HealthError{Err: err})
		}
	}
}

func (m *Monitor) startup(ctx context.Context) error {
	interval := m.StartupInterval
	if interval <= 0 {
		interval = DefaultStartupInterval
	}
	wait := m.StartupFirstInterval
	if wait <= 0 {
		wait = DefaultStartupFirstInterval
	}
	var deadline <-chan time.Time
	if m.StartTimeout > 0 {
		t := time.NewTimer(m.StartTimeout)
		defer t.Stop()
		deadline = t.C
	}
	next := time.NewTimer(interval)
	defer next.Stop()
	for {
		err := m.Checker.Check(ctx)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ErrCancelled
		}
		next.Reset(min(wait, interval))
		wait *= 2
		select {
		case <-ctx.Done():
			return ErrCancelled
		case <-deadline:
			return m.fail(&HealthError{Startup: true, After: m.StartTimeout, Err: err})
		case <-next.C:
		}
	}
}

func (m *Monitor) fail(he *HealthError) error {
	err := &UserError{Message: he.Error(), Err: he}
	if m.OnFailure != nil {
		m.OnFailure(err)
	}
	return err
}
