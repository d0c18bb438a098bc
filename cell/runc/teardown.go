package runc

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/opencontainers/cgroups/manager"
	"github.com/opencontainers/runc/libcontainer"
	"golang.org/x/sys/unix"
)

// killTimeout bounds how long teardown waits for a killed container's
// processes to go.
const killTimeout = 10 * time.Second

// teardown kills every process of c and releases everything it holds:
// cgroups, libcontainer state, port forwarding, veth, network namespace,
// mounts and files. If the processes cannot be killed it stops there (the
// files stay, so a later Destroy or a restarted agent tries again);
// otherwise it carries on past errors and returns them joined. c.mu is
// held (or c is private to the caller).
func (r *Runtime) teardown(ctx context.Context, c *container) error {
	id := c.meta.ID
	var errs []error
	if c.keeper != nil {
		_ = c.keeper.Close()
		c.keeper = nil
	}
	if err := r.killAndDestroy(ctx, c); err != nil {
		return err
	}
	// Each waits for an RCU grace period in the kernel: do them together.
	fwdErr := make(chan error, 1)
	go func() { fwdErr <- r.fwd.Remove(id) }()
	if err := r.net.detach(id); err != nil {
		errs = append(errs, err)
	}
	if err := <-fwdErr; err != nil {
		errs = append(errs, err)
	}
	dir := r.instanceDir(id)
	if err := removeNetns(filepath.Join(dir, "netns")); err != nil {
		errs = append(errs, err)
	}
	if err := unmountUnder(dir); err != nil {
		errs = append(errs, err)
	} else if err := os.RemoveAll(dir); err != nil {
		errs = append(errs, fmt.Errorf("remove %s: %w", dir, err))
	}
	return errors.Join(errs...)
}

// killAndDestroy kills the container's processes and removes its cgroups
// and libcontainer state.
func (r *Runtime) killAndDestroy(ctx context.Context, c *container) error {
	lc := c.lc
	if lc == nil {
		var err error
		lc, err = libcontainer.Load(r.lcRoot, c.meta.ID)
		if err != nil {
			// No libcontainer state: kill what the cgroup still holds.
			_ = os.RemoveAll(filepath.Join(r.lcRoot, c.meta.ID))
			return r.destroyCgroup(c)
		}
	}
	if err := lc.Signal(unix.SIGKILL); err != nil && !errors.Is(err, libcontainer.ErrNotRunning) {
		r.log.Debug().Err(err).Str(keyContainer, c.meta.ID).Msg("kill init")
	}
	// Killing a PID namespace's init kills every process in it; wait for
	// the init to be gone (reaped by our goroutine, or by whoever is its
	// parent now) so libcontainer agrees the container stopped.
	if c.initDone != nil {
		select {
		case <-c.initDone:
		case <-time.After(killTimeout):
		case <-ctx.Done():
		}
	} else {
		deadline := time.Now().Add(killTimeout)
		for time.Now().Before(deadline) && ctx.Err() == nil {
			if st, err := lc.Status(); err != nil || st == libcontainer.Stopped {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	if err := lc.Destroy(); err != nil {
		return fmt.Errorf("libcontainer destroy: %w", err)
	}
	return nil
}

// destroyCgroup kills and removes c's cgroup when libcontainer's state is
// gone.
func (r *Runtime) destroyCgroup(c *container) error {
	m := c.cg
	if m == nil {
		var err error
		m, err = manager.New(cgroupConfig(r.cfg.CgroupParent, c.meta.ID, c.meta.Limits))
		if err != nil {
			return fmt.Errorf("cgroup manager: %w", err)
		}
	}
	if !m.Exists() {
		return nil
	}
	deadline := time.Now().Add(killTimeout)
	for {
		pids, err := m.GetAllPids()
		if err != nil || len(pids) == 0 || time.Now().After(deadline) {
			break
		}
		for _, pid := range pids {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := m.Destroy(); err != nil {
		return fmt.Errorf("remove cgroup: %w", err)
	}
	return nil
}

// unmountUnder detaches every mount at or below dir (in this mount
// namespace), deepest first, so that removing dir can never reach through
// a bind mount into the host.
func unmountUnder(dir string) error {
	mps, err := mountPointsUnder(dir)
	if err != nil {
		return err
	}
	for i := len(mps) - 1; i >= 0; i-- {
		if err := unix.Unmount(mps[i], unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("unmount %s: %w", mps[i], err)
		}
	}
	if rest, err := mountPointsUnder(dir); err != nil || len(rest) > 0 {
		return fmt.Errorf("mounts left under %s: %v", dir, rest)
	}
	return nil
}

// mountPointsUnder lists the mount points at or below dir, in mountinfo
// order (parents before children).
func mountPointsUnder(dir string) ([]string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, fmt.Errorf("read mountinfo: %w", err)
	}
	defer f.Close()
	dir = filepath.Clean(dir)
	var out []string
	s := bufio.NewScanner(f)
	s.Buffer(make([]byte, 64*1024), 1024*1024)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) < 5 {
			continue
		}
		mp := unescapeMountPath(fields[4])
		if mp == dir || strings.HasPrefix(mp, dir+"/") {
			out = append(out, mp)
		}
	}
	return out, s.Err()
}

// unescapeMountPath undoes mountinfo's octal escapes (\040 for a space).
func unescapeMountPath(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			var v byte
			ok := true
			for j := 1; j <= 3; j++ {
				d := s[i+j]
				if d < '0' || d > '7' {
					ok = false
					break
				}
				v = v*8 + (d - '0')
			}
			if ok {
				b.WriteByte(v)
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
