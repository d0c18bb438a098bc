package lifecycle

import (
	"context"
	"io"
	"syscall"
)

// ProcessSpec is a process to run in a container. It mirrors
// cell.ProcessSpec; lifecycle keeps its own copy so that cell may import
// lifecycle and not the other way round.
type ProcessSpec struct {
	Path   string
	Args   []string
	Dir    string
	Env    []string
	User   string
	Nofile uint64
	// Stdout and Stderr receive the process's output; nil discards it. They
	// must be safe for concurrent use (a run step writes its own lines, such
	// as "Exit status N", to Stdout).
	Stdout io.Writer
	Stderr io.Writer
}

// ExitStatus is how a process ended.
type ExitStatus struct {
	Code int
	// Signal is the signal that killed the process, 0 if it exited.
	Signal syscall.Signal
	// OOMKilled is true when the container's memory limit killed it.
	OOMKilled bool
}

// Status returns the shell-style status: Code, or 128+signal for a process
// a signal killed without a code.
func (s ExitStatus) Status() int {
	if s.Code == 0 && s.Signal != 0 {
		return 128 + int(s.Signal)
	}
	return s.Code
}

// Process is a running process.
type Process interface {
	// Signal sends sig to the process.
	Signal(sig syscall.Signal) error
	// Wait blocks until the process exits or ctx ends.
	Wait(ctx context.Context) (ExitStatus, error)
}

// ProcessRunner starts processes in one container. The cell adapts its
// container runtime to it.
type ProcessRunner interface {
	Run(ctx context.Context, spec ProcessSpec) (Process, error)
}

// ProcessRunnerFunc adapts a function to a ProcessRunner.
type ProcessRunnerFunc func(ctx context.Context, spec ProcessSpec) (Process, error)

// Run calls f.
func (f ProcessRunnerFunc) Run(ctx context.Context, spec ProcessSpec) (Process, error) {
	return f(ctx, spec)
}
