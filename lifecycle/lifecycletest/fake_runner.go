package lifecycletest

import (
	"context"
	"sync"
	"syscall"

	"github.com/diegod/diegod/lifecycle"
)

// FakeProcess is a scriptable lifecycle.Process. By default SIGTERM makes
// it exit with status 143 and SIGKILL with 137; IgnoreTerm makes it ignore
// SIGTERM (to exercise the SIGKILL escalation).
type FakeProcess struct {
	// Spec is the spec it was started with.
	Spec lifecycle.ProcessSpec

	mu         sync.Mutex
	ignoreTerm bool
	signals    []syscall.Signal
	done       chan struct{}
	status     lifecycle.ExitStatus
}

var _ lifecycle.Process = (*FakeProcess)(nil)

// NewFakeProcess returns a running process.
func NewFakeProcess(spec lifecycle.ProcessSpec) *FakeProcess {
	return &FakeProcess{Spec: spec, done: make(chan struct{})}
}

// IgnoreTerm makes the process ignore SIGTERM.
func (p *FakeProcess) IgnoreTerm() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ignoreTerm = true
}

// Exit makes the process exit with st; a second call does nothing.
func (p *FakeProcess) Exit(st lifecycle.ExitStatus) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.exitLocked(st)
}

func (p *FakeProcess) exitLocked(st lifecycle.ExitStatus) {
	select {
	case <-p.done:
		return
	default:
	}
	p.status = st
	close(p.done)
}

// Signal records sig and applies its default effect.
func (p *FakeProcess) Signal(sig syscall.Signal) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.signals = append(p.signals, sig)
	switch {
	case sig == syscall.SIGKILL:
		p.exitLocked(lifecycle.ExitStatus{Code: 137, Signal: syscall.SIGKILL})
	case sig == syscall.SIGTERM && !p.ignoreTerm:
		p.exitLocked(lifecycle.ExitStatus{Code: 143})
	}
	return nil
}

// Wait blocks until the process exits or ctx ends.
func (p *FakeProcess) Wait(ctx context.Context) (lifecycle.ExitStatus, error) {
	select {
	case <-p.done:
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.status, nil
	case <-ctx.Done():
		return lifecycle.ExitStatus{}, ctx.Err()
	}
}

// Exited reports whether the process has exited.
func (p *FakeProcess) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Signals returns the signals received so far.
func (p *FakeProcess) Signals() []syscall.Signal {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]syscall.Signal(nil), p.signals...)
}

// FakeRunner is a scriptable lifecycle.ProcessRunner that starts
// FakeProcesses.
type FakeRunner struct {
	mu sync.Mutex
	// err, when set, makes Run fail.
	err error
	// onRun, when set, is called with each new process (to script it).
	onRun func(*FakeProcess)
	procs []*FakeProcess
}

var _ lifecycle.ProcessRunner = (*FakeRunner)(nil)

// NewFakeRunner returns a runner; onRun, if not nil, scripts each process
// as it starts.
func NewFakeRunner(onRun func(*FakeProcess)) *FakeRunner {
	return &FakeRunner{onRun: onRun}
}

// SetError makes later Run calls fail with err (nil to succeed again).
func (r *FakeRunner) SetError(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.err = err
}

// Run starts a FakeProcess.
func (r *FakeRunner) Run(ctx context.Context, spec lifecycle.ProcessSpec) (lifecycle.Process, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return nil, r.err
	}
	p := NewFakeProcess(spec)
	r.procs = append(r.procs, p)
	if r.onRun != nil {
		r.onRun(p)
	}
	return p, nil
}

// Processes returns the processes started so far.
func (r *FakeRunner) Processes() []*FakeProcess {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*FakeProcess(nil), r.procs...)
}
