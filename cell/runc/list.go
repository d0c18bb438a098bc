package runc

import (
	"context"
	"net/netip"
	"sort"

	"github.com/opencontainers/runc/libcontainer"

	"github.com/diegod/diegod/cell"
	"github.com/diegod/diegod/model"
)

// List implements cell.Runtime.
func (r *Runtime) List(ctx context.Context) ([]cell.ContainerInfo, error) {
	r.mu.Lock()
	cs := make([]*container, 0, len(r.containers))
	for _, c := range r.containers {
		cs = append(cs, c)
	}
	r.mu.Unlock()
	out := make([]cell.ContainerInfo, 0, len(cs))
	for _, c := range cs {
		c.mu.Lock()
		if !c.destroyed && c.meta.Ready {
			out = append(out, r.info(c))
		}
		c.mu.Unlock()
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// info describes c; c.mu is held.
func (r *Runtime) info(c *container) cell.ContainerInfo {
	m := c.meta
	info := cell.ContainerInfo{
		ID:        m.ID,
		Labels:    copyLabels(m.Labels),
		State:     r.state(c),
		CreatedAt: m.CreatedAt,
		NetInfo: model.ActualLRPNetInfo{
			Address:         r.hostIP,
			Ports:           append([]model.PortMapping(nil), m.Ports...),
			InstanceAddress: m.IP.String(),
		},
		ProbeAddrs: map[uint16]string{},
	}
	for _, p := range m.Ports {
		info.ProbeAddrs[p.ContainerPort] = netip.AddrPortFrom(m.IP, p.ContainerPort).String()
	}
	return info
}

// state is c's state; c.mu is held.
func (r *Runtime) state(c *container) cell.ContainerState {
	if !r.initAlive(c) {
		return cell.ContainerStopped
	}
	c.pmu.Lock()
	live := len(c.procs)
	c.pmu.Unlock()
	if live > 0 {
		return cell.ContainerRunning
	}
	for _, p := range c.meta.Procs {
		if p.alive() {
			return cell.ContainerRunning
		}
	}
	if c.meta.Ran {
		return cell.ContainerStopped
	}
	return cell.ContainerCreated
}

// initAlive reports whether c's pause process runs.
func (r *Runtime) initAlive(c *container) bool {
	if c.lc == nil {
		return false
	}
	if c.initDone != nil {
		select {
		case <-c.initDone:
			return false
		default:
			return true
		}
	}
	st, err := c.lc.Status()
	return err == nil && (st == libcontainer.Running || st == libcontainer.Created)
}
