package celltest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/diegod/diegod/cell"
)

// relistenTries bounds the attempts to listen again on a released port.
const relistenTries = 50

// fakeProcess is a process of the fake runtime. Its script comes from its
// environment; see the Env* constants.
type fakeProcess struct {
	c       *fakeContainer
	env     map[string]string
	stdout  io.Writer
	stderr  io.Writer
	started time.Time

	mu        sync.Mutex
	done      chan struct{}
	status    cell.ExitStatus
	ended     time.Time
	signals   []syscall.Signal
	timers    []*time.Timer
	servers   []*fakeServer
	ready     bool // serving (after the start delay)
	unhealthy bool
}

type fakeServer struct {
	srv *http.Server
	l   net.Listener
}

var _ cell.Process = (*fakeProcess)(nil)

func newFakeProcess(c *fakeContainer, env map[string]string, spec cell.ProcessSpec) *fakeProcess {
	p := &fakeProcess{c: c, env: env, stdout: spec.Stdout, stderr: spec.Stderr, started: time.Now(), done: make(chan struct{})}
	if p.stdout == nil {
		p.stdout = io.Discard
	}
	if p.stderr == nil {
		p.stderr = io.Discard
	}
	return p
}

// script is a process's parsed environment.
type script struct {
	exitAfter      time.Duration // <0: never
	exitCode       int
	startDelay     time.Duration
	unhealthyAfter time.Duration // <0: never
}

func (p *fakeProcess) parse() (script, error) {
	s := script{exitAfter: -1, unhealthyAfter: -1}
	dur := func(name string, dst *time.Duration) error {
		v, ok := p.env[name]
		if !ok || v == "" {
			return nil
		}
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return fmt.Errorf("%s=%q is not a duration", name, v)
		}
		*dst = d
		return nil
	}
	for name, dst := range map[string]*time.Duration{
		EnvExitAfter: &s.exitAfter, EnvStartDelay: &s.startDelay, EnvUnhealthyAfter: &s.unhealthyAfter,
	} {
		if err := dur(name, dst); err != nil {
			return s, err
		}
	}
	if v, ok := p.env[EnvExitCode]; ok && v != "" {
		code, err := strconv.Atoi(v)
		if err != nil {
			return s, fmt.Errorf("%s=%q is not a number", EnvExitCode, v)
		}
		s.exitCode = code
	}
	return s, nil
}

// start plays the script. It returns once the process serves (when it has
// no start delay) so a caller sees its ports open.
func (p *fakeProcess) start() {
	if p.env[EnvRole] == cell.ProcessRoleHealthCheck {
		p.healthCheck()
		return
	}
	s, err := p.parse()
	if err != nil {
		fmt.Fprintf(p.stderr, "fake process: %v\n", err)
		p.exit(cell.ExitStatus{Code: 2})
		return
	}
	s = p.taskScript(s)
	fmt.Fprintf(p.stdout, "Fake process starting: index %s, instance guid %s\n", p.env["INSTANCE_INDEX"], p.env["INSTANCE_GUID"])
	fmt.Fprintf(p.stderr, "Fake process script: exit after %s, exit code %d, start delay %s, unhealthy after %s\n",
		fmtDur(s.exitAfter), s.exitCode, s.startDelay, fmtDur(s.unhealthyAfter))

	p.c.mu.Lock()
	isMain := p.c.main == nil || p.c.main.exited()
	if isMain {
		p.c.main = p
	}
	p.c.mu.Unlock()

	p.mu.Lock()
	defer p.mu.Unlock()
	if s.exitAfter >= 0 {
		p.timers = append(p.timers, time.AfterFunc(s.exitAfter, func() { p.exit(cell.ExitStatus{Code: s.exitCode}) }))
	}
	if !isMain {
		return
	}
	if s.startDelay > 0 {
		p.timers = append(p.timers, time.AfterFunc(s.startDelay, p.serve))
	} else {
		p.mu.Unlock()
		p.serve()
		p.mu.Lock()
	}
	if s.unhealthyAfter >= 0 {
		p.timers = append(p.timers, time.AfterFunc(s.startDelay+s.unhealthyAfter, p.becomeUnhealthy))
	}
}

func fmtDur(d time.Duration) string {
	if d < 0 {
		return "never"
	}
	return d.String()
}

// healthCheck is an exec health check: exit 0 when the main process
// serves and is healthy.
func (p *fakeProcess) healthCheck() {
	p.c.mu.Lock()
	main := p.c.main
	p.c.mu.Unlock()
	if main != nil && main.servingHealthy() {
		fmt.Fprintln(p.stdout, "healthy")
		p.exit(cell.ExitStatus{})
		return
	}
	fmt.Fprintln(p.stdout, "not serving")
	p.exit(cell.ExitStatus{Code: 1})
}

// serve listens on every host port of the container and serves HTTP.
func (p *fakeProcess) serve() {
	var servers []*fakeServer
	for _, pm := range p.c.info.NetInfo.Ports {
		l, err := p.listen(pm.HostPort)
		if err != nil {
			fmt.Fprintf(p.stderr, "Fake process cannot listen on port %d: %v\n", pm.HostPort, err)
			for _, s := range servers {
				_ = s.srv.Close()
			}
			p.exit(cell.ExitStatus{Code: 1})
			return
		}
		port := pm.ContainerPort
		srv := &http.Server{
			Handler:           http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { p.handle(w, r, port) }),
			ReadHeaderTimeout: 10 * time.Second,
		}
		servers = append(servers, &fakeServer{srv: srv, l: l})
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.exited() {
		for _, s := range servers {
			_ = s.l.Close()
		}
		return
	}
	p.servers = servers
	p.ready = true
	for _, s := range servers {
		go func() { _ = s.srv.Serve(s.l) }()
		fmt.Fprintf(p.stdout, "Serving HTTP on %s\n", s.l.Addr())
	}
}

// listen uses the reservation of hostPort, or listens on it again (after
// an earlier process released it).
func (p *fakeProcess) listen(hostPort uint16) (net.Listener, error) {
	p.c.mu.Lock()
	rp, ok := p.c.reserve[hostPort]
	delete(p.c.reserve, hostPort)
	p.c.mu.Unlock()
	if ok {
		return rp.listen()
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(int(hostPort)))
	var err error
	for range relistenTries {
		var l net.Listener
		if l, err = net.Listen("tcp", addr); err == nil {
			return l, nil
		}
		time.Sleep(10 * time.Millisecond) // the port may be in TIME_WAIT reuse limbo
	}
	return nil, err
}

func (p *fakeProcess) handle(w http.ResponseWriter, r *http.Request, port uint16) {
	p.mu.Lock()
	unhealthy := p.unhealthy
	p.mu.Unlock()
	if unhealthy {
		http.Error(w, "unhealthy", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	idx, _ := strconv.Atoi(p.env["INSTANCE_INDEX"])
	_ = json.NewEncoder(w).Encode(map[string]any{
		"process_guid":   p.c.spec.Labels[cell.LabelProcessGUID],
		"index":          idx,
		"instance_guid":  p.env["INSTANCE_GUID"],
		"container_port": port,
		"path":           r.URL.Path,
	})
}

// becomeUnhealthy stops listening; open connections get 500.
func (p *fakeProcess) becomeUnhealthy() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.exited() {
		return
	}
	p.unhealthy = true
	for _, s := range p.servers {
		_ = s.l.Close()
	}
	fmt.Fprintln(p.stdout, "Fake process became unhealthy")
}

func (p *fakeProcess) servingHealthy() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return !p.exited() && p.ready && !p.unhealthy
}

// exit ends the process with st (once).
func (p *fakeProcess) exit(st cell.ExitStatus) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.exited() {
		return
	}
	for _, t := range p.timers {
		t.Stop()
	}
	for _, s := range p.servers {
		_ = s.srv.Close()
	}
	p.status = st
	p.ended = time.Now()
	close(p.done)
}

func (p *fakeProcess) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Signal: SIGTERM exits with 143 (unless DIEGOD_FAKE_IGNORE_SIGTERM=true),
// SIGKILL with 137; other signals are recorded only.
func (p *fakeProcess) Signal(sig syscall.Signal) error {
	p.mu.Lock()
	p.signals = append(p.signals, sig)
	p.mu.Unlock()
	switch {
	case sig == syscall.SIGKILL:
		p.exit(cell.ExitStatus{Code: 137, Signal: syscall.SIGKILL})
	case sig == syscall.SIGTERM && p.env[EnvIgnoreSIGTERM] != "true":
		p.exit(cell.ExitStatus{Code: 143})
	}
	return nil
}

// Wait blocks until the process exits or ctx ends.
func (p *fakeProcess) Wait(ctx context.Context) (cell.ExitStatus, error) {
	select {
	case <-p.done:
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.status, nil
	case <-ctx.Done():
		return cell.ExitStatus{}, ctx.Err()
	}
}

func (p *fakeProcess) receivedSignals() []syscall.Signal {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]syscall.Signal(nil), p.signals...)
}

func (p *fakeProcess) runTime() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.exited() {
		return p.ended.Sub(p.started)
	}
	return time.Since(p.started)
}
