package lifecycle_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/diegod/diegod/lifecycle"
	"github.com/diegod/diegod/lifecycle/lifecycletest"
	"github.com/rs/zerolog"
)

// syncBuffer is a goroutine-safe bytes.Buffer.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// waitFor polls cond until it holds or timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestRunStepExit(t *testing.T) {
	tests := []struct {
		name       string
		source     string
		status     lifecycle.ExitStatus
		wantReason string
		wantLine   string
	}{
		{"success", "", lifecycle.ExitStatus{Code: 0}, "", "Exit status 0"},
		{"failure", "", lifecycle.ExitStatus{Code: 1}, "APP/PROC/WEB: Exited with status 1", "Exit status 1"},
		{"custom source", "APP/TASK/migrate", lifecycle.ExitStatus{Code: 3}, "APP/TASK/migrate: Exited with status 3", "Exit status 3"},
		{"killed by signal", "", lifecycle.ExitStatus{Signal: syscall.SIGKILL}, "APP/PROC/WEB: Exited with status 137", "Exit status 137"},
		{"oom", "", lifecycle.ExitStatus{Code: 137, OOMKilled: true}, "APP/PROC/WEB: Exited with status 137 (out of memory)", "Exit status 137"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runner := lifecycletest.NewFakeRunner(func(p *lifecycletest.FakeProcess) { p.Exit(tt.status) })
			out := &syncBuffer{}
			step := &lifecycle.RunStep{
				Runner:    runner,
				Spec:      lifecycle.ProcessSpec{Path: "/bin/app", Stdout: out},
				LogSource: tt.source,
			}
			err := step.Run(context.Background())
			if got := lifecycle.Reason(err); got != tt.wantReason {
				t.Fatalf("reason: got %q, want %q", got, tt.wantReason)
			}
			if tt.wantReason != "" {
				var ee *lifecycle.ExitError
				if !errors.As(err, &ee) || ee.Status != tt.status.Status() {
					t.Fatalf("err %v: want *ExitError with status %d", err, tt.status.Status())
				}
			}
			if !strings.Contains(out.String(), tt.wantLine+"\n") {
				t.Fatalf("stdout: got %q, want a line %q", out.String(), tt.wantLine)
			}
		})
	}
}

func TestRunStepStartFailure(t *testing.T) {
	runner := lifecycletest.NewFakeRunner(nil)
	runner.SetError(errors.New("no such file"))
	err := (&lifecycle.RunStep{Runner: runner, Spec: lifecycle.ProcessSpec{Path: "/nope"}}).Run(context.Background())
	if got := lifecycle.Reason(err); !strings.Contains(got, "no such file") || !strings.HasPrefix(got, "APP/PROC/WEB: ") {
		t.Fatalf("reason: got %q", got)
	}
}

func TestRunStepCancelSendsSIGTERM(t *testing.T) {
	runner := lifecycletest.NewFakeRunner(nil)
	out := &syncBuffer{}
	step := &lifecycle.RunStep{Runner: runner, Spec: lifecycle.ProcessSpec{Path: "/bin/app", Stdout: out}, Grace: time.Hour}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- step.Run(ctx) }()
	waitFor(t, 5*time.Second, "process start", func() bool { return len(runner.Processes()) == 1 })
	cancel()
	err := <-done
	if !lifecycle.IsCancelled(err) {
		t.Fatalf("err: got %v, want cancelled", err)
	}
	p := runner.Processes()[0]
	if got := p.Signals(); len(got) != 1 || got[0] != syscall.SIGTERM {
		t.Fatalf("signals: got %v, want [SIGTERM]", got)
	}
	if !strings.Contains(out.String(), "Exit status 143") {
		t.Fatalf("stdout: got %q, want Exit status 143", out.String())
	}
}

func TestRunStepEscalatesToSIGKILLAfterGrace(t *testing.T) {
	runner := lifecycletest.NewFakeRunner(func(p *lifecycletest.FakeProcess) { p.IgnoreTerm() })
	out := &syncBuffer{}
	logs := &syncBuffer{}
	grace := 30 * time.Millisecond
	step := &lifecycle.RunStep{
		Runner: runner,
		Spec:   lifecycle.ProcessSpec{Path: "/bin/stubborn", Stdout: out},
		Grace:  grace,
		Log:    zerolog.New(logs),
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- step.Run(ctx) }()
	waitFor(t, 5*time.Second, "process start", func() bool { return len(runner.Processes()) == 1 })
	start := time.Now()
	cancel()
	err := <-done
	if !lifecycle.IsCancelled(err) {
		t.Fatalf("err: got %v, want cancelled", err)
	}
	if elapsed := time.Since(start); elapsed < grace {
		t.Fatalf("SIGKILL after %s, want at least the grace %s", elapsed, grace)
	}
	p := runner.Processes()[0]
	if got := p.Signals(); len(got) != 2 || got[0] != syscall.SIGTERM || got[1] != syscall.SIGKILL {
		t.Fatalf("signals: got %v, want [SIGTERM SIGKILL]", got)
	}
	if !strings.Contains(logs.String(), "sigkill") {
		t.Fatalf("log: got %q, want a sigkill message", logs.String())
	}
	if !strings.Contains(out.String(), "SIGKILL") || !strings.Contains(out.String(), "Exit status 137") {
		t.Fatalf("stdout: got %q, want the SIGKILL notice and Exit status 137", out.String())
	}
}

func TestRunStepAttach(t *testing.T) {
	p := lifecycletest.NewFakeProcess(lifecycle.ProcessSpec{})
	done := make(chan error, 1)
	go func() { done <- (&lifecycle.RunStep{Attach: p}).Run(context.Background()) }()
	p.Exit(lifecycle.ExitStatus{Code: 2})
	if got, want := lifecycle.Reason(<-done), "APP/PROC/WEB: Exited with status 2"; got != want {
		t.Fatalf("reason: got %q, want %q", got, want)
	}
}
