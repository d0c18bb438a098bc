package runc

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// Output pipes outlive the agent: every container's pause process listens
// on a control socket (ctlMount/ctl.sock inside the container, the
// instance's ctl directory on the host). Run hands the pause a copy of the
// read end of each output pipe it creates; the pause holds the copies while
// the agent that sent them is connected and drains them once that agent is
// gone. So a process whose agent is SIGKILLed neither dies of SIGPIPE nor
// blocks on a full pipe; its output is discarded until it exits. A
// restarted agent reconnects for the processes it starts.
const (
	ctlDirName = "ctl"
	ctlMount   = "/.diegod"
	ctlSocket  = "ctl.sock"
	// keeperDialWait bounds how long the first Run after Create waits for
	// the pause process to listen.
	keeperDialWait = 2 * time.Second
)

// dialKeeper connects to the pause process of the container whose ctl
// directory is dir, retrying for up to wait. The socket is reached through
// /proc/self/fd so that long state paths fit in sun_path.
func dialKeeper(dir string, wait time.Duration) (*net.UnixConn, error) {
	d, err := os.OpenFile(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open ctl dir: %w", err)
	}
	defer d.Close()
	addr := &net.UnixAddr{Net: "unixpacket", Name: "/proc/self/fd/" + strconv.Itoa(int(d.Fd())) + "/" + ctlSocket}
	deadline := time.Now().Add(wait)
	for {
		conn, err := net.DialUnix("unixpacket", nil, addr)
		if err == nil {
			return conn, nil
		}
		if time.Now().After(deadline) || !(errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ECONNREFUSED)) {
			return nil, fmt.Errorf("connect to pause process: %w", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// keeper returns c's connection to its pause process, dialling it if
// needed; nil (logged) if the pause cannot be reached. c.mu is held.
func (r *Runtime) keeper(c *container) *net.UnixConn {
	if c.keeper != nil || c.keeperFailed {
		return c.keeper
	}
	conn, err := dialKeeper(filepath.Join(r.instanceDir(c.meta.ID), ctlDirName), keeperDialWait)
	if err != nil {
		c.keeperFailed = true
		r.log.Warn().Err(err).Str(keyContainer, c.meta.ID).Msg("no pipe keeper: processes die of SIGPIPE if the agent dies")
		return nil
	}
	c.keeper = conn
	return conn
}

// handToKeeper gives the pause process copies of fs. It reads the fds
// through SyscallConn: File.Fd would switch them to blocking mode, for the
// pause too (the mode belongs to the shared open file description).
func handToKeeper(conn *net.UnixConn, fs []*os.File) error {
	if conn == nil || len(fs) == 0 {
		return nil
	}
	fds := make([]int, 0, len(fs))
	for _, f := range fs {
		rc, err := f.SyscallConn()
		if err != nil {
			return err
		}
		if err := rc.Control(func(fd uintptr) { fds = append(fds, int(fd)) }); err != nil {
			return err
		}
	}
	_, _, err := conn.WriteMsgUnix([]byte{'H'}, unix.UnixRights(fds...), nil)
	for _, f := range fs {
		runtime.KeepAlive(f)
	}
	return err
}
