package lifecycle

import (
	"context"
	"fmt"
	"io"
	"syscall"
	"time"

	"github.com/diegod/diegod/model"
	"github.com/rs/zerolog"
)

// Defaults of a run step (spec §6.3).
const (
	// DefaultGrace is the time between SIGTERM and SIGKILL when a run step
	// is cancelled (Diego's graceful_shutdown_interval).
	DefaultGrace = 10 * time.Second
	// DefaultExitWait is how long a run step waits for the process to go
	// after SIGKILL.
	DefaultExitWait = time.Second
)

// Log field keys of this package.
const (
	fieldPath   = "path"
	fieldSource = "log_source"
	fieldTo     = "to"
	fieldGrace  = "grace"
)

// RunStep runs one process (Diego's run action). A non-zero exit fails the
// step with "<LogSource>: Exited with status N"; every exit writes
// "Exit status N" to the process's Stdout. Cancelling the step sends
// SIGTERM, then SIGKILL after Grace (logged, and written to Stdout).
type RunStep struct {
	// Runner starts the process; unused when Attach is set.
	Runner ProcessRunner
	// Spec is the process to start.
	Spec ProcessSpec
	// Attach, when set, is an already running process to supervise instead
	// of starting Spec (a container adopted after an agent restart).
	Attach Process
	// LogSource names the process in failure reasons; default APP/PROC/WEB.
	LogSource string
	// Grace is the SIGTERM→SIGKILL interval; 0 means DefaultGrace.
	Grace time.Duration
	// ExitWait is the wait after SIGKILL; 0 means DefaultExitWait.
	ExitWait time.Duration
	// SuppressExitStatus leaves out the "Exit status N" line (health check
	// processes).
	SuppressExitStatus bool
	// Log receives operational logs.
	Log zerolog.Logger
}

type waitResult struct {
	status ExitStatus
	err    error
}

// Run starts (or attaches to) the process and supervises it until it exits
// or ctx ends.
func (r *RunStep) Run(ctx context.Context) error {
	if ctx.Err() != nil {
		return ErrCancelled
	}
	source := r.source()
	p := r.Attach
	if p == nil {
		var err error
		p, err = r.Runner.Run(ctx, r.Spec)
		if err != nil {
			if ctx.Err() != nil {
				return ErrCancelled
			}
			return userErrorf(err, "%s: failed to start process: %v", source, err)
		}
	}
	waitCtx, stopWait := context.WithCancel(context.Background())
	defer stopWait()
	exited := make(chan waitResult, 1)
	go func() {
		st, err := p.Wait(waitCtx)
		exited <- waitResult{st, err}
	}()

	select {
	case res := <-exited:
		if res.err != nil {
			if ctx.Err() != nil {
				return ErrCancelled
			}
			return userErrorf(res.err, "%s: lost process: %v", source, res.err)
		}
		status := res.status.Status()
		r.writeLine(fmt.Sprintf("Exit status %d", status))
		if status != 0 {
			ee := &ExitError{Source: source, Status: status, OOMKilled: res.status.OOMKilled}
			return &UserError{Message: ee.Error(), Err: ee}
		}
		return nil
	case <-ctx.Done():
	}
	r.stop(p, exited)
	return ErrCancelled
}

// stop sends SIGTERM, waits Grace, then SIGKILL and waits ExitWait.
func (r *RunStep) stop(p Process, exited <-chan waitResult) {
	grace := r.Grace
	if grace <= 0 {
		grace = DefaultGrace
	}
	exitWait := r.ExitWait
	if exitWait <= 0 {
		exitWait = DefaultExitWait
	}
	log := r.Log.With().Str(fieldSource, r.source()).Str(fieldPath, r.Spec.Path).Logger()
	if err := p.Signal(syscall.SIGTERM); err != nil {
		log.Debug().Err(err).Msg("sigterm failed")
	}
	timer := time.NewTimer(grace)
	defer timer.Stop()
	select {
	case res := <-exited:
		r.logExit(res)
		return
	case <-timer.C:
	}
	log.Warn().Dur(fieldGrace, grace).Msg("process ignored sigterm, sending sigkill")
	r.writeLine(fmt.Sprintf("Process did not exit within %s of SIGTERM, sending SIGKILL", grace))
	if err := p.Signal(syscall.SIGKILL); err != nil {
		log.Debug().Err(err).Msg("sigkill failed")
	}
	kill := time.NewTimer(exitWait)
	defer kill.Stop()
	select {
	case res := <-exited:
		r.logExit(res)
	case <-kill.C:
		log.Error().Msg("process did not exit after sigkill")
	}
}

func (r *RunStep) logExit(res waitResult) {
	if res.err == nil {
		r.writeLine(fmt.Sprintf("Exit status %d", res.status.Status()))
	}
}

func (r *RunStep) writeLine(s string) {
	if r.SuppressExitStatus || r.Spec.Stdout == nil {
		return
	}
	_, _ = io.WriteString(r.Spec.Stdout, s+"\n")
}

func (r *RunStep) source() string {
	if r.LogSource != "" {
		return r.LogSource
	}
	return model.LogSourceApp
}
