package runc

import (
	"context"
	"fmt"

	"github.com/diegod/diegod/cell"
)

// Adopt implements cell.Adopter: it returns the container's main process,
// the oldest still-running process Run started in it (health checks and
// setup steps are short-lived; the app is not). A process this agent
// started is returned as is, with its exit status. One started by an
// earlier run of the agent is not our child: it is watched through a pidfd,
// and its Wait reports Code ExitCodeUnknown (or SIGKILL with OOMKilled when
// the container's OOM-kill count rose while it ran).
func (r *Runtime) Adopt(ctx context.Context, id string) (cell.Process, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c, err := r.get(id)
	if err != nil {
		return nil, fmt.Errorf("adopt container %s: %w", id, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.destroyed || !r.initAlive(c) {
		return nil, fmt.Errorf("adopt container %s: %w", id, ErrNotRunning)
	}
	c.pmu.Lock()
	var oldest *process
	for p := range c.procs {
		if oldest == nil || p.rec.StartTime < oldest.rec.StartTime {
			oldest = p
		}
	}
	c.pmu.Unlock()
	for _, rec := range c.meta.Procs {
		if oldest != nil && rec.PID == oldest.rec.PID && rec.StartTime == oldest.rec.StartTime {
			return oldest, nil
		}
		if !rec.alive() {
			continue
		}
		if oldest != nil && oldest.rec.StartTime <= rec.StartTime {
			return oldest, nil
		}
		p, err := adoptProcess(rec, c.oomKills)
		if err != nil {
			continue
		}
		return p, nil
	}
	if oldest != nil {
		return oldest, nil
	}
	return nil, fmt.Errorf("adopt container %s: %w", id, ErrNotRunning)
}
