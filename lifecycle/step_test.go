package lifecycle_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/diegod/diegod/lifecycle"
)

// blockStep blocks until ctx ends and records that it was cancelled.
type blockStep struct {
	started   chan struct{}
	cancelled atomic.Bool
	once      sync.Once
}

func newBlockStep() *blockStep { return &blockStep{started: make(chan struct{})} }

func (b *blockStep) Run(ctx context.Context) error {
	b.once.Do(func() { close(b.started) })
	<-ctx.Done()
	b.cancelled.Store(true)
	return lifecycle.ErrCancelled
}

func result(err error) lifecycle.Step {
	return lifecycle.StepFunc(func(context.Context) error { return err })
}

func recorder(log *[]string, mu *sync.Mutex, name string, err error) lifecycle.Step {
	return lifecycle.StepFunc(func(context.Context) error {
		mu.Lock()
		*log = append(*log, name)
		mu.Unlock()
		return err
	})
}

func TestSerial(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name    string
		results []error
		wantRan []string
		wantErr error
	}{
		{"all succeed", []error{nil, nil, nil}, []string{"0", "1", "2"}, nil},
		{"stops at first error", []error{nil, boom, nil}, []string{"0", "1"}, boom},
		{"empty", nil, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ran []string
			var mu sync.Mutex
			var steps []lifecycle.Step
			for i, r := range tt.results {
				steps = append(steps, recorder(&ran, &mu, string(rune('0'+i)), r))
			}
			err := lifecycle.Serial(steps...).Run(context.Background())
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("err: got %v, want %v", err, tt.wantErr)
			}
			if strings.Join(ran, ",") != strings.Join(tt.wantRan, ",") {
				t.Fatalf("ran: got %v, want %v", ran, tt.wantRan)
			}
		})
	}
}

func TestSerialCancelledBeforeNextStep(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var second atomic.Bool
	err := lifecycle.Serial(
		lifecycle.StepFunc(func(context.Context) error { cancel(); return nil }),
		lifecycle.StepFunc(func(context.Context) error { second.Store(true); return nil }),
	).Run(ctx)
	if !lifecycle.IsCancelled(err) {
		t.Fatalf("err: got %v, want cancelled", err)
	}
	if second.Load() {
		t.Fatal("second step ran after cancellation")
	}
}

func TestParallelWaitsForAllAndFailsIfAnyFails(t *testing.T) {
	boom := errors.New("boom")
	release := make(chan struct{})
	var slowDone atomic.Bool
	slow := lifecycle.StepFunc(func(context.Context) error {
		<-release
		slowDone.Store(true)
		return nil
	})
	done := make(chan error, 1)
	go func() { done <- lifecycle.Parallel(result(boom), slow).Run(context.Background()) }()
	select {
	case err := <-done:
		t.Fatalf("parallel returned %v before the slow step finished", err)
	default:
	}
	close(release)
	err := <-done
	if !errors.Is(err, boom) {
		t.Fatalf("err: got %v, want %v", err, boom)
	}
	if !slowDone.Load() {
		t.Fatal("parallel returned before the slow step finished")
	}
}

func TestParallelJoinsSeveralFailures(t *testing.T) {
	a, b := errors.New("a"), errors.New("b")
	err := lifecycle.Parallel(result(a), result(nil), result(b)).Run(context.Background())
	if !errors.Is(err, a) || !errors.Is(err, b) {
		t.Fatalf("err: got %v, want both a and b", err)
	}
	if got, want := lifecycle.Reason(err), "a; b"; got != want {
		t.Fatalf("reason: got %q, want %q", got, want)
	}
	if err := lifecycle.Parallel(result(nil), result(nil)).Run(context.Background()); err != nil {
		t.Fatalf("all succeed: got %v, want nil", err)
	}
}

func TestCodependentFirstExitCancelsOthers(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name  string
		first error
	}{
		{"first fails", boom},
		{"first succeeds", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b1, b2 := newBlockStep(), newBlockStep()
			gate := make(chan struct{})
			first := lifecycle.StepFunc(func(context.Context) error {
				<-b1.started
				<-b2.started
				<-gate
				return tt.first
			})
			done := make(chan error, 1)
			go func() { done <- lifecycle.Codependent(b1, first, b2).Run(context.Background()) }()
			close(gate)
			err := <-done
			if tt.first == nil && err != nil || tt.first != nil && !errors.Is(err, tt.first) {
				t.Fatalf("err: got %v, want %v", err, tt.first)
			}
			if !b1.cancelled.Load() || !b2.cancelled.Load() {
				t.Fatalf("others cancelled: got %v %v, want true true", b1.cancelled.Load(), b2.cancelled.Load())
			}
		})
	}
}

func TestCodependentParentCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	b1, b2 := newBlockStep(), newBlockStep()
	done := make(chan error, 1)
	go func() { done <- lifecycle.Codependent(b1, b2).Run(ctx) }()
	<-b1.started
	<-b2.started
	cancel()
	if err := <-done; !lifecycle.IsCancelled(err) {
		t.Fatalf("err: got %v, want cancelled", err)
	}
}

func TestTimeout(t *testing.T) {
	b := newBlockStep()
	err := lifecycle.Timeout(b, 20*time.Millisecond).Run(context.Background())
	if got, want := lifecycle.Reason(err), "timed out after 20ms"; got != want {
		t.Fatalf("reason: got %q, want %q", got, want)
	}
	var te *lifecycle.TimeoutError
	if !errors.As(err, &te) {
		t.Fatalf("err %v is not a *TimeoutError", err)
	}
	if !b.cancelled.Load() {
		t.Fatal("child was not cancelled")
	}
	boom := errors.New("boom")
	if err := lifecycle.Timeout(result(boom), time.Hour).Run(context.Background()); !errors.Is(err, boom) {
		t.Fatalf("fast child: got %v, want %v", err, boom)
	}
	if err := lifecycle.Timeout(result(nil), time.Hour).Run(context.Background()); err != nil {
		t.Fatalf("fast child ok: got %v, want nil", err)
	}
}

func TestTrySwallowsError(t *testing.T) {
	boom := errors.New("boom")
	var seen error
	err := lifecycle.Try(result(boom), func(err error) { seen = err }).Run(context.Background())
	if err != nil {
		t.Fatalf("err: got %v, want nil", err)
	}
	if !errors.Is(seen, boom) {
		t.Fatalf("onError: got %v, want %v", seen, boom)
	}
	// Serial continues after a try.
	var ran atomic.Bool
	err = lifecycle.Serial(lifecycle.Try(result(boom), nil), lifecycle.StepFunc(func(context.Context) error {
		ran.Store(true)
		return nil
	})).Run(context.Background())
	if err != nil || !ran.Load() {
		t.Fatalf("serial after try: err %v ran %v, want nil true", err, ran.Load())
	}
}

func TestDaemonKeepsRunningAfterSuccess(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	exited := make(chan struct{})
	go func() {
		done <- lifecycle.Daemon(lifecycle.StepFunc(func(context.Context) error {
			close(exited)
			return nil
		})).Run(ctx)
	}()
	<-exited
	select {
	case err := <-done:
		t.Fatalf("daemon returned %v before cancellation", err)
	default:
	}
	cancel()
	if err := <-done; !lifecycle.IsCancelled(err) {
		t.Fatalf("err: got %v, want cancelled", err)
	}
	boom := errors.New("boom")
	if err := lifecycle.Daemon(result(boom)).Run(context.Background()); !errors.Is(err, boom) {
		t.Fatalf("failing child: got %v, want %v", err, boom)
	}
}
