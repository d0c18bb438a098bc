package celltest

import (
	"context"
	"fmt"
	"os"

	"github.com/diegod/diegod/cell"
)

// taskScript adapts the script of a process for tasks: a process with
// DIEGOD_FAKE_RESULT records it as its container's result file, and the
// process of a task container (label kind=task) without
// DIEGOD_FAKE_EXIT_AFTER exits at once, with DIEGOD_FAKE_EXIT_CODE, since
// a task is one-off work.
func (p *fakeProcess) taskScript(s script) script {
	if v, ok := p.env[EnvResult]; ok {
		p.c.mu.Lock()
		p.c.result = &v
		p.c.mu.Unlock()
	}
	if p.c.spec.Labels[cell.LabelKind] == cell.LabelKindTask && p.env[EnvExitAfter] == "" {
		s.exitAfter = 0
	}
	return s
}

// ReadFile implements cell.ResultReader: the result file of a container is
// the DIEGOD_FAKE_RESULT of its processes, whatever the path. A container
// whose processes set none has no such file.
func (r *FakeRuntime) ReadFile(ctx context.Context, id, path string, max int) ([]byte, error) {
	r.mu.Lock()
	c, ok := r.containers[id]
	r.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("read %s in %s: %w", path, id, cell.ErrNoContainer)
	}
	c.mu.Lock()
	res := c.result
	c.mu.Unlock()
	switch {
	case res == nil:
		return nil, fmt.Errorf("read %s in %s: %w", path, id, os.ErrNotExist)
	case len(*res) > max:
		return nil, fmt.Errorf("read %s in %s: %d bytes: %w", path, id, len(*res), cell.ErrFileTooLarge)
	}
	return []byte(*res), nil
}
