package lifecycle

import (
	"context"
	"errors"
	"time"
)

// Step is one unit of work in or around a container. Run blocks until the
// step is done. When ctx ends, Run must stop promptly (processes get their
// graceful shutdown first) and return an error for which IsCancelled is
// true, unless the step had already finished.
type Step interface {
	Run(ctx context.Context) error
}

// StepFunc adapts a function to a Step.
type StepFunc func(ctx context.Context) error

// Run calls f.
func (f StepFunc) Run(ctx context.Context) error { return f(ctx) }

// Serial returns a step that runs steps one after the other and stops at the
// first error, which it returns. A cancelled context stops it before the
// next step starts.
func Serial(steps ...Step) Step {
	return StepFunc(func(ctx context.Context) error {
		for _, s := range steps {
			if ctx.Err() != nil {
				return ErrCancelled
			}
			if err := s.Run(ctx); err != nil {
				return err
			}
		}
		return nil
	})
}

// Parallel returns a step that runs steps at once, waits for all of them,
// and fails if any failed: with that error, or with every failure joined
// (in step order) when several failed.
func Parallel(steps ...Step) Step {
	return StepFunc(func(ctx context.Context) error {
		errs := make([]error, len(steps))
		done := make(chan struct{}, len(steps))
		for i, s := range steps {
			go func() {
				errs[i] = s.Run(ctx)
				done <- struct{}{}
			}()
		}
		for range steps {
			<-done
		}
		return joinFailures(errs)
	})
}

// joinFailures returns nil when no error is set, the only error when one
// is, ErrCancelled when every failure is a cancellation, and the joined
// non-cancellation failures otherwise.
func joinFailures(errs []error) error {
	var failed, cancelled []error
	for _, err := range errs {
		switch {
		case err == nil:
		case IsCancelled(err):
			cancelled = append(cancelled, err)
		default:
			failed = append(failed, err)
		}
	}
	switch {
	case len(failed) == 1:
		return failed[0]
	case len(failed) > 1:
		return errors.Join(failed...)
	case len(cancelled) > 0:
		return cancelled[0]
	}
	return nil
}

// Codependent returns a step that runs steps at once; the first of them to
// exit, for any reason (success included), cancels the others. It waits for
// all of them and returns the first one's result (Diego's codependent
// action: an app and its health monitor live and die together).
func Codependent(steps ...Step) Step {
	return StepFunc(func(ctx context.Context) error {
		if len(steps) == 0 {
			return nil
		}
		cctx, cancel := context.WithCancel(ctx)
		defer cancel()
		results := make(chan error, len(steps))
		for _, s := range steps {
			go func() { results <- s.Run(cctx) }()
		}
		first := <-results
		cancel()
		for range len(steps) - 1 {
			<-results
		}
		return first
	})
}

// Timeout returns a step that fails with "timed out after <d>" (a
// *UserError wrapping a *TimeoutError) when step runs longer than d. The
// step is cancelled then, and Timeout returns once it has stopped.
func Timeout(step Step, d time.Duration) Step {
	return StepFunc(func(ctx context.Context) error {
		cctx, cancel := context.WithCancel(ctx)
		defer cancel()
		done := make(chan error, 1)
		go func() { done <- step.Run(cctx) }()
		timer := time.NewTimer(d)
		defer timer.Stop()
		select {
		case err := <-done:
			return err
		case <-timer.C:
			cancel()
			<-done
			te := &TimeoutError{After: d}
			return &UserError{Message: te.Error(), Err: te}
		}
	})
}

// Try returns a step that runs step and swallows its error. onError, when
// not nil, is called with a failure that is not a cancellation.
func Try(step Step, onError func(error)) Step {
	return StepFunc(func(ctx context.Context) error {
		if err := step.Run(ctx); err != nil && !IsCancelled(err) && onError != nil {
			onError(err)
		}
		return nil
	})
}

// Daemon returns a step that runs step and, if it exits successfully, keeps
// "running" until ctx ends. This is Diego's rule that an action exiting
// successfully next to a health monitor is a daemon that left processes
// behind: the monitor, not the exit, decides the instance's fate.
func Daemon(step Step) Step {
	return StepFunc(func(ctx context.Context) error {
		if err := step.Run(ctx); err != nil {
			return err
		}
		<-ctx.Done()
		return ErrCancelled
	})
}
