package celltest

import (
	"context"
	"fmt"
	"net"
	"os"
	"sort"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/diegod/diegod/cell"
	"github.com/diegod/diegod/model"
)

// The fake runtime's script, read from a process's environment (the
// container's env, then the process's own; a later value wins).
const (
	// EnvExitAfter is a duration after which the process exits; absent, it
	// runs until signalled.
	EnvExitAfter = "DIEGOD_FAKE_EXIT_AFTER"
	// EnvExitCode is the status it exits with then (default 0).
	EnvExitCode = "DIEGOD_FAKE_EXIT_CODE"
	// EnvStartDelay delays serving the ports (they refuse connections until
	// then).
	EnvStartDelay = "DIEGOD_FAKE_START_DELAY"
	// EnvUnhealthyAfter is a duration after which the process stops
	// listening (port checks fail) and answers 500 on open connections.
	EnvUnhealthyAfter = "DIEGOD_FAKE_UNHEALTHY_AFTER"
	// EnvIgnoreSIGTERM ("true") makes the process ignore SIGTERM, so only
	// SIGKILL ends it.
	EnvIgnoreSIGTERM = "DIEGOD_FAKE_IGNORE_SIGTERM"
	// EnvResult is the content of the result file of a task container
	// (fake_task.go): ReadFile returns it for any path.
	EnvResult = "DIEGOD_FAKE_RESULT"
	// EnvRole "healthcheck" marks an exec health check process: it exits at
	// once, 0 when the container's main process serves its ports, 1
	// otherwise. The cell sets it on exec health checks.
	EnvRole = cell.EnvProcessRole
)

// Synthetic usage figures reported by Stats.
const (
	fakeMemoryBytes = 16 << 20
	fakeDiskBytes   = 4 << 20
	// fakeCPUShare is the CPU a running fake process "uses": 1% of a core.
	fakeCPUShare = 100
)

// FakeRuntime is a cell.Runtime without containers: it is both the test
// fake and the product's `--runtime fake` (simulation mode). Create
// reserves a real loopback port for every container port (bound, refusing
// connections until a process serves it); the first
// process run in a container serves HTTP on those ports (answering 200 and
// a JSON body naming the process guid, index and instance guid) until it
// exits, scripted by the DIEGOD_FAKE_* variables of its environment. SIGTERM
// ends it with status 143, SIGKILL with 137. Containers do not survive the
// agent (FakeRuntime is no cell.Adopter). Safe for concurrent use.
type FakeRuntime struct {
	mu         sync.Mutex
	containers map[string]*fakeContainer
	createErr  func(spec cell.ContainerSpec) error
	creates    int
	destroys   int
}

var (
	_ cell.Runtime      = (*FakeRuntime)(nil)
	_ cell.FileSystem   = (*FakeRuntime)(nil)
	_ cell.ResultReader = (*FakeRuntime)(nil)
)

type fakeContainer struct {
	spec cell.ContainerSpec
	info cell.ContainerInfo // immutable after Create

	mu      sync.Mutex
	root    string
	reserve map[uint16]*reservedPort // by host port, until a process serves it
	procs   []*fakeProcess
	main    *fakeProcess // the process serving the ports, if any
	result  *string      // DIEGOD_FAKE_RESULT of its processes (fake_task.go)
}

// NewFakeRuntime returns an empty runtime.
func NewFakeRuntime() *FakeRuntime {
	return &FakeRuntime{containers: map[string]*fakeContainer{}}
}

// SetCreateError installs a failure injection: Create calls fn with the
// spec (spec.ID is the instance guid) and fails with its non-nil result.
func (r *FakeRuntime) SetCreateError(fn func(spec cell.ContainerSpec) error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.createErr = fn
}

// Create reserves a loopback port per container port.
func (r *FakeRuntime) Create(ctx context.Context, spec cell.ContainerSpec) (cell.ContainerInfo, error) {
	r.mu.Lock()
	fail := r.createErr
	r.mu.Unlock()
	if fail != nil {
		if err := fail(spec); err != nil {
			return cell.ContainerInfo{}, err
		}
	}
	c := &fakeContainer{spec: spec, reserve: map[uint16]*reservedPort{}}
	c.info = cell.ContainerInfo{
		ID:         spec.ID,
		Labels:     copyLabels(spec.Labels),
		State:      cell.ContainerCreated,
		CreatedAt:  time.Now(),
		NetInfo:    model.ActualLRPNetInfo{Address: "127.0.0.1", InstanceAddress: "127.0.0.1", Ports: []model.PortMapping{}},
		ProbeAddrs: map[uint16]string{},
	}
	for _, cp := range spec.Ports {
		rp, err := reservePort()
		if err != nil {
			c.closeReserved()
			return cell.ContainerInfo{}, fmt.Errorf("reserve port for %d: %w", cp, err)
		}
		c.reserve[rp.port] = rp
		c.info.NetInfo.Ports = append(c.info.NetInfo.Ports, model.PortMapping{ContainerPort: cp, HostPort: rp.port})
		c.info.ProbeAddrs[cp] = net.JoinHostPort("127.0.0.1", strconv.Itoa(int(rp.port)))
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.containers[spec.ID]; ok {
		c.closeReserved()
		return cell.ContainerInfo{}, fmt.Errorf("create %s: %w", spec.ID, cell.ErrContainerExists)
	}
	r.containers[spec.ID] = c
	r.creates++
	return c.infoCopy(), nil
}

// Run starts a scripted fake process.
func (r *FakeRuntime) Run(ctx context.Context, id string, spec cell.ProcessSpec) (cell.Process, error) {
	r.mu.Lock()
	c, ok := r.containers[id]
	r.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("run in %s: %w", id, cell.ErrNoContainer)
	}
	p := newFakeProcess(c, mergeEnv(c.spec.Env, spec.Env), spec)
	c.mu.Lock()
	c.procs = append(c.procs, p)
	c.mu.Unlock()
	p.start()
	return p, nil
}

// Destroy kills the container's processes (status 137) and frees its ports.
func (r *FakeRuntime) Destroy(ctx context.Context, id string) error {
	r.mu.Lock()
	c, ok := r.containers[id]
	if ok {
		delete(r.containers, id)
		r.destroys++
	}
	r.mu.Unlock()
	if !ok {
		return nil
	}
	for _, p := range c.processes() {
		p.exit(cell.ExitStatus{Code: 137, Signal: syscall.SIGKILL})
	}
	c.mu.Lock()
	c.closeReserved()
	root := c.root
	c.mu.Unlock()
	if root != "" {
		_ = os.RemoveAll(root)
	}
	return nil
}

// List returns every container, oldest first.
func (r *FakeRuntime) List(ctx context.Context) ([]cell.ContainerInfo, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]cell.ContainerInfo, 0, len(r.containers))
	for _, c := range r.containers {
		out = append(out, c.infoCopy())
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].CreatedAt.Equal(out[j].CreatedAt) {
			return out[i].CreatedAt.Before(out[j].CreatedAt)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// Stats returns small synthetic figures: 1% of a core while a process
// runs, 16 MiB of memory, 4 MiB of disk.
func (r *FakeRuntime) Stats(ctx context.Context, id string) (cell.Stats, error) {
	r.mu.Lock()
	c, ok := r.containers[id]
	r.mu.Unlock()
	if !ok {
		return cell.Stats{}, fmt.Errorf("stats of %s: %w", id, cell.ErrNoContainer)
	}
	var cpu time.Duration
	for _, p := range c.processes() {
		cpu += p.runTime() / fakeCPUShare
	}
	return cell.Stats{
		CPUTime:     cpu,
		MemoryBytes: fakeMemoryBytes,
		MemoryLimit: uint64(c.spec.Limits.MemoryMB) << 20,
		DiskBytes:   fakeDiskBytes,
		DiskLimit:   uint64(c.spec.Limits.DiskMB) << 20,
	}, nil
}

// ContainerRoot returns a temporary directory standing for the container's
// filesystem (created on first use, removed by Destroy).
func (r *FakeRuntime) ContainerRoot(ctx context.Context, id string) (string, error) {
	r.mu.Lock()
	c, ok := r.containers[id]
	r.mu.Unlock()
	if !ok {
		return "", fmt.Errorf("root of %s: %w", id, cell.ErrNoContainer)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.root == "" {
		dir, err := os.MkdirTemp("", "diegod-fake-"+id+"-")
		if err != nil {
			return "", err
		}
		c.root = dir
	}
	return c.root, nil
}

// Kill makes the container's main process exit with code, as if the app
// crashed. It fails if the container has no running main process.
func (r *FakeRuntime) Kill(id string, code int) error {
	r.mu.Lock()
	c, ok := r.containers[id]
	r.mu.Unlock()
	var p *fakeProcess
	if ok {
		c.mu.Lock()
		p = c.main
		if p == nil && len(c.procs) > 0 {
			p = c.procs[0]
		}
		c.mu.Unlock()
	}
	if p == nil || p.exited() {
		return fmt.Errorf("kill %s: %w", id, cell.ErrNoContainer)
	}
	p.exit(cell.ExitStatus{Code: code})
	return nil
}

// Signals returns the signals the container's processes received, in
// order.
func (r *FakeRuntime) Signals(id string) []syscall.Signal {
	r.mu.Lock()
	c, ok := r.containers[id]
	r.mu.Unlock()
	if !ok {
		return nil
	}
	var out []syscall.Signal
	for _, p := range c.processes() {
		out = append(out, p.receivedSignals()...)
	}
	return out
}

// Container returns the container's info.
func (r *FakeRuntime) Container(id string) (cell.ContainerInfo, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.containers[id]
	if !ok {
		return cell.ContainerInfo{}, false
	}
	return c.infoCopy(), true
}

// Creates returns how many containers were created.
func (r *FakeRuntime) Creates() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.creates
}

// Destroys returns how many containers were destroyed.
func (r *FakeRuntime) Destroys() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.destroys
}

// Len returns how many containers exist.
func (r *FakeRuntime) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.containers)
}

// processes returns a copy of the container's processes.
func (c *fakeContainer) processes() []*fakeProcess {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*fakeProcess(nil), c.procs...)
}

// infoCopy returns the container's info with its current state.
func (c *fakeContainer) infoCopy() cell.ContainerInfo {
	info := c.info
	info.Labels = copyLabels(c.info.Labels)
	info.NetInfo.Ports = append([]model.PortMapping{}, c.info.NetInfo.Ports...)
	info.ProbeAddrs = make(map[uint16]string, len(c.info.ProbeAddrs))
	for k, v := range c.info.ProbeAddrs {
		info.ProbeAddrs[k] = v
	}
	info.State = cell.ContainerCreated
	if procs := c.processes(); len(procs) > 0 {
		info.State = cell.ContainerStopped
		for _, p := range procs {
			if !p.exited() {
				info.State = cell.ContainerRunning
			}
		}
	}
	return info
}

// closeReserved closes the reserved listeners; the caller holds c.mu (or
// owns c alone).
func (c *fakeContainer) closeReserved() {
	for hp, rp := range c.reserve {
		rp.close()
		delete(c.reserve, hp)
	}
}

func copyLabels(in map[string]string) map[string]string {
	out := make(map[string]string, len(in))
	for k, v := range in {
		out[k] = v
	}
	return out
}

// mergeEnv merges "K=V" lists; a later value wins.
func mergeEnv(lists ...[]string) map[string]string {
	out := map[string]string{}
	for _, l := range lists {
		for _, kv := range l {
			for i := 0; i < len(kv); i++ {
				if kv[i] == '=' {
					out[kv[:i]] = kv[i+1:]
					break
				}
			}
		}
	}
	return out
}
