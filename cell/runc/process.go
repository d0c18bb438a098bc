package runc

import (
	"context"
	"errors"
	"io"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/opencontainers/runc/libcontainer"
	"golang.org/x/sys/unix"

	"github.com/diegod/diegod/cell"
)

// drainGrace is how long Wait keeps reading a process's output after it
// exited (a background child may hold the pipe open forever).
const drainGrace = time.Second

// process is a process Run started in this agent: it is our child (runc's
// nsexec uses CLONE_PARENT), so its exit status is known.
type process struct {
	lp   *libcontainer.Process
	rec  procRecord
	oom  func() (uint64, bool)
	done chan struct{}
	// Set before done is closed.
	status cell.ExitStatus
	err    error
}

var _ cell.Process = (*process)(nil)

// startPumps copies each pipe read end to its writer until EOF, never
// stopping on a writer error (the process must never block on a full pipe).
// The returned function waits up to grace for them, then cuts them off.
func startPumps(pairs map[*os.File]io.Writer) func(grace time.Duration) {
	var wg sync.WaitGroup
	for r, w := range pairs {
		wg.Add(1)
		go func(r *os.File, w io.Writer) {
			defer wg.Done()
			buf := make([]byte, 32*1024)
			for {
				n, err := r.Read(buf)
				if n > 0 && w != nil {
					if _, werr := w.Write(buf[:n]); werr != nil {
						w = nil // keep draining, discard
					}
				}
				if err != nil {
					return
				}
			}
		}(r, w)
	}
	return func(grace time.Duration) {
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(grace):
		}
		for r := range pairs {
			_ = r.Close()
		}
		<-done
	}
}

// wait reaps the process, then finishes the output pumps and records how it
// ended. Run starts it in a goroutine.
func (p *process) wait(finishPumps func(time.Duration), onExit func()) {
	ps, err := p.lp.Wait()
	if finishPumps != nil {
		finishPumps(drainGrace)
	}
	switch {
	case ps != nil:
		p.status = exitStatus(ps.Sys().(syscall.WaitStatus))
	default:
		p.err = err
	}
	if p.err == nil && (p.status.Code != 0 || p.status.Signal != 0) {
		if n, ok := p.oom(); ok && n > p.rec.OOMBase {
			p.status.OOMKilled = true
		}
	}
	close(p.done)
	onExit()
}

// exitStatus converts a wait status: a signalled process has Code 128+sig
// (the shell's convention, as Garden reports it).
func exitStatus(ws syscall.WaitStatus) cell.ExitStatus {
	if ws.Signaled() {
		return cell.ExitStatus{Code: 128 + int(ws.Signal()), Signal: ws.Signal()}
	}
	return cell.ExitStatus{Code: ws.ExitStatus()}
}

// Signal implements cell.Process. Signalling an exited process is a no-op.
func (p *process) Signal(sig syscall.Signal) error {
	select {
	case <-p.done:
		return nil
	default:
	}
	if err := p.lp.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	return nil
}

// Wait implements cell.Process.
func (p *process) Wait(ctx context.Context) (cell.ExitStatus, error) {
	select {
	case <-p.done:
		return p.status, p.err
	case <-ctx.Done():
		return cell.ExitStatus{}, ctx.Err()
	}
}

// adoptedProcess is a process an earlier run of the agent started: not our
// child, so it is watched through a pidfd and its exit code is unknown.
type adoptedProcess struct {
	pidfd *os.File
	rec   procRecord
	oom   func() (uint64, bool)
	done  chan struct{}
	// Set before done is closed.
	status cell.ExitStatus
}

var _ cell.Process = (*adoptedProcess)(nil)

// ExitCodeUnknown is the ExitStatus.Code of an adopted process: its exit
// status went to the agent that started it, not to this one.
const ExitCodeUnknown = -1

// adoptProcess opens a pidfd on rec's process and checks it is still that
// process (start time), then watches it.
func adoptProcess(rec procRecord, oom func() (uint64, bool)) (*adoptedProcess, error) {
	fd, err := unix.PidfdOpen(rec.PID, unix.PIDFD_NONBLOCK)
	if err != nil {
		return nil, ErrNotRunning
	}
	f := os.NewFile(uintptr(fd), "pidfd")
	if !rec.alive() {
		f.Close()
		return nil, ErrNotRunning
	}
	a := &adoptedProcess{pidfd: f, rec: rec, oom: oom, done: make(chan struct{})}
	go a.watch()
	return a, nil
}

// watch waits for the pidfd to become readable (the process exited).
func (a *adoptedProcess) watch() {
	defer close(a.done)
	rc, err := a.pidfd.SyscallConn()
	if err == nil {
		err = rc.Read(func(fd uintptr) bool {
			fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
			n, _ := unix.Poll(fds, 0)
			return n > 0
		})
	}
	if err != nil {
		// No poller for this fd: fall back to polling /proc.
		for a.rec.alive() {
			time.Sleep(100 * time.Millisecond)
		}
	}
	a.status = cell.ExitStatus{Code: ExitCodeUnknown}
	if n, ok := a.oom(); ok && n > a.rec.OOMBase {
		a.status.OOMKilled = true
		a.status.Signal = syscall.SIGKILL
		a.status.Code = 128 + int(syscall.SIGKILL)
	}
	a.pidfd.Close()
}

// Signal implements cell.Process.
func (a *adoptedProcess) Signal(sig syscall.Signal) error {
	select {
	case <-a.done:
		return nil
	default:
	}
	rc, err := a.pidfd.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = unix.PidfdSendSignal(int(fd), sig, nil, 0)
	}); err != nil {
		return err
	}
	if errors.Is(serr, unix.ESRCH) {
		return nil
	}
	return serr
}

// Wait implements cell.Process. The exit code of an adopted process is
// ExitCodeUnknown unless the container's OOM killer is known to have
// struck (then SIGKILL and OOMKilled).
func (a *adoptedProcess) Wait(ctx context.Context) (cell.ExitStatus, error) {
	select {
	case <-a.done:
		return a.status, nil
	case <-ctx.Done():
		return cell.ExitStatus{}, ctx.Err()
	}
}
