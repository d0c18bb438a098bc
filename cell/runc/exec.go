package runc

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runc/libcontainer/configs"
	"golang.org/x/sys/unix"

	"github.com/diegod/diegod/cell"
)

// pauseUID is the user of every container's pause process (nobody).
const pauseUID = 65534

// defaultPath is PATH for processes whose environment sets none.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// pauseProcess is a container's init: it re-executes this binary, whose C
// constructor becomes the pause loop (shim.c), as nobody with no
// capabilities.
func pauseProcess() *libcontainer.Process {
	return &libcontainer.Process{
		Args:         pauseArgs,
		Env:          []string{shimEnv + "=pause", "PATH=" + defaultPath},
		UID:          pauseUID,
		GID:          pauseUID,
		Cwd:          "/",
		Capabilities: &configs.Capabilities{},
		Init:         true,
	}
}

// Run implements cell.Runtime. The process's stdout and stderr go through
// pipes that are drained continuously into p.Stdout and p.Stderr.
func (r *Runtime) Run(ctx context.Context, id string, p cell.ProcessSpec) (cell.Process, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if p.Path == "" {
		return nil, fmt.Errorf("run in container %s: %w: empty path", id, ErrInvalidSpec)
	}
	c, err := r.get(id)
	if err != nil {
		return nil, fmt.Errorf("run in container %s: %w", id, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.destroyed {
		return nil, fmt.Errorf("run in container %s: %w", id, ErrNotFound)
	}
	if !r.initAlive(c) {
		return nil, fmt.Errorf("run in container %s: %w", id, ErrNotRunning)
	}
	rfs, err := resolveRootFS(c.meta.RootFS, r.host)
	if err != nil {
		return nil, err
	}
	name := p.User
	if name == "" {
		name = r.cfg.DefaultUser
	}
	u, err := resolveUser(rfs, name)
	if err != nil {
		return nil, fmt.Errorf("run in container %s: %w", id, err)
	}
	dir := p.Dir
	if dir == "" {
		dir = AppDir
	}
	lp := &libcontainer.Process{
		Args:             append([]string{p.Path}, p.Args...),
		Env:              processEnv(u, c.meta.Env, p.Env),
		UID:              u.UID,
		GID:              u.GID,
		AdditionalGroups: u.Groups,
		Cwd:              dir,
		Capabilities:     userCaps(u.UID),
	}
	if p.Nofile > 0 {
		lp.Rlimits = []configs.Rlimit{{Type: unix.RLIMIT_NOFILE, Hard: p.Nofile, Soft: p.Nofile}}
	}
	pairs := map[*os.File]io.Writer{}
	var childEnds []*os.File
	closeAll := func() {
		for _, f := range childEnds {
			f.Close()
		}
		for f := range pairs {
			f.Close()
		}
	}
	for _, s := range []struct {
		w   io.Writer
		set func(*os.File)
	}{
		{p.Stdout, func(f *os.File) { lp.Stdout = f }},
		{p.Stderr, func(f *os.File) { lp.Stderr = f }},
	} {
		if s.w == nil {
			continue // nil: libcontainer gives the process /dev/null
		}
		pr, pw, err := os.Pipe()
		if err != nil {
			closeAll()
			return nil, fmt.Errorf("run in container %s: pipe: %w", id, err)
		}
		pairs[pr] = s.w
		childEnds = append(childEnds, pw)
		s.set(pw)
	}
	oomBase, _ := c.oomKills()
	if err := c.lc.Run(lp); err != nil {
		closeAll()
		return nil, fmt.Errorf("run %s in container %s: %w", p.Path, id, err)
	}
	for _, f := range childEnds {
		f.Close()
	}
	readEnds := make([]*os.File, 0, len(pairs))
	for f := range pairs {
		readEnds = append(readEnds, f)
	}
	if err := handToKeeper(r.keeper(c), readEnds); err != nil {
		r.log.Warn().Err(err).Str(keyContainer, id).Msg("hand output pipes to the pause process")
	}
	pid, _ := lp.Pid()
	proc := &process{
		lp:   lp,
		rec:  procRecord{PID: pid, StartTime: procStartTime(pid), OOMBase: oomBase},
		oom:  c.oomKills,
		done: make(chan struct{}),
	}
	c.pmu.Lock()
	c.procs[proc] = struct{}{}
	c.pmu.Unlock()
	go proc.wait(startPumps(pairs), func() {
		c.pmu.Lock()
		delete(c.procs, proc)
		c.pmu.Unlock()
	})
	r.log.Debug().Str(keyContainer, id).Int(keyPID, pid).Str("path", p.Path).Msg("process started")
	c.meta.Ran = true
	c.meta.Procs = append(pruneProcs(c.meta.Procs), proc.rec)
	if err := r.saveMeta(c.meta); err != nil {
		r.log.Warn().Err(err).Str(keyContainer, id).Msg("save meta")
	}
	return proc, nil
}

// pruneProcs drops the records of processes that are gone.
func pruneProcs(ps []procRecord) []procRecord {
	out := ps[:0]
	for _, p := range ps {
		if p.alive() {
			out = append(out, p)
		}
	}
	return out
}

// oomKills is the container's OOM-kill count (false when unknown).
func (c *container) oomKills() (uint64, bool) {
	if c.cg == nil {
		return 0, false
	}
	n, err := c.cg.OOMKillCount()
	return n, err == nil
}

// processEnv is PATH, HOME, USER and LANG defaults, overridden by the
// container's env, overridden by the process's.
func processEnv(u execUser, container, proc []string) []string {
	user := u.Name
	if user == "" {
		user = fmt.Sprint(u.UID)
	}
	base := []string{"PATH=" + defaultPath, "HOME=" + AppDir, "USER=" + user, "LANG=C.UTF-8"}
	index := map[string]int{}
	var out []string
	for _, list := range [][]string{base, container, proc} {
		for _, kv := range list {
			k, _, _ := strings.Cut(kv, "=")
			if i, ok := index[k]; ok {
				out[i] = kv
				continue
			}
			index[k] = len(out)
			out = append(out, kv)
		}
	}
	return out
}
