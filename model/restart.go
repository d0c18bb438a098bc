package model

import "time"

// Diego's crash restart policy constants (spec §4).
const (
	DefaultImmediateRestarts  = 3
	CrashBackoffMinDuration   = 30 * time.Second
	DefaultMaxBackoffDuration = 16 * time.Minute
	MaxBackoffCount           = 5
	DefaultMaxRestarts        = 200
	CrashResetTimeout         = 5 * time.Minute
)

// CrashCountAfter returns the crash count of a row that crashes at now: 1 if
// it had been RUNNING for longer than CrashResetTimeout, otherwise one more
// than before.
func CrashCountAfter(a *ActualLRP, now time.Time) int {
	if a.State == StateRunning && now.Sub(a.Since) > CrashResetTimeout {
		return 1
	}
	return a.CrashCount + 1
}

// RestartsImmediately reports whether an instance with crash count count
// restarts without backoff (the first two crashes).
func RestartsImmediately(count int) bool { return count < DefaultImmediateRestarts }

// CrashBackoff returns the wait after crash number count before a restart,
// and false when the instance is never restarted again.
func CrashBackoff(count int) (time.Duration, bool) {
	switch {
	case count < DefaultImmediateRestarts:
		return 0, true
	case count >= DefaultMaxRestarts:
		return 0, false
	}
	exp := count - DefaultImmediateRestarts
	if exp > MaxBackoffCount {
		exp = MaxBackoffCount
	}
	d := CrashBackoffMinDuration << exp
	if d > DefaultMaxBackoffDuration {
		d = DefaultMaxBackoffDuration
	}
	return d, true
}

// ShouldRestartCrash reports whether a CRASHED row with count crashes that
// crashed at crashedAt may be restarted at now.
func ShouldRestartCrash(now, crashedAt time.Time, count int) bool {
	d, ok := CrashBackoff(count)
	return ok && !now.Before(crashedAt.Add(d))
}

// RestartAt returns when a CRASHED row may restart, and false if never.
func RestartAt(crashedAt time.Time, count int) (time.Time, bool) {
	d, ok := CrashBackoff(count)
	return crashedAt.Add(d), ok
}
