package cell

import (
	"context"
	"syscall"

	"github.com/diegod/diegod/lifecycle"
)

// runner adapts one container of a Runtime to lifecycle.ProcessRunner.
type runner struct {
	rt Runtime
	id string
}

var _ lifecycle.ProcessRunner = runner{}

// Run starts spec in the container.
func (r runner) Run(ctx context.Context, spec lifecycle.ProcessSpec) (lifecycle.Process, error) {
	p, err := r.rt.Run(ctx, r.id, ProcessSpec{
		Path:   spec.Path,
		Args:   spec.Args,
		Dir:    spec.Dir,
		Env:    spec.Env,
		User:   spec.User,
		Nofile: spec.Nofile,
		Stdout: spec.Stdout,
		Stderr: spec.Stderr,
	})
	if err != nil {
		return nil, err
	}
	return process{p}, nil
}

// process adapts a Process to lifecycle.Process.
type process struct{ p Process }

func (p process) Signal(sig syscall.Signal) error { return p.p.Signal(sig) }

func (p process) Wait(ctx context.Context) (lifecycle.ExitStatus, error) {
	st, err := p.p.Wait(ctx)
	return lifecycle.ExitStatus{Code: st.Code, Signal: st.Signal, OOMKilled: st.OOMKilled}, err
}
