package celltest_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/diegod/diegod/cell"
	"github.com/diegod/diegod/cell/celltest"
)

func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newContainer(t *testing.T, rt *celltest.FakeRuntime, id string, env ...string) cell.ContainerInfo {
	t.Helper()
	info, err := rt.Create(context.Background(), cell.ContainerSpec{
		ID:     id,
		Labels: map[string]string{cell.LabelProcessGUID: "web", cell.LabelInstanceGUID: id},
		Ports:  []uint16{8080},
		Env:    append([]string{"INSTANCE_INDEX=3", "INSTANCE_GUID=" + id}, env...),
		Limits: cell.Limits{MemoryMB: 64, DiskMB: 128},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Destroy(context.Background(), id) })
	return info
}

func run(t *testing.T, rt *celltest.FakeRuntime, id string, out io.Writer, env ...string) cell.Process {
	t.Helper()
	p, err := rt.Run(context.Background(), id, cell.ProcessSpec{Path: "/bin/app", Env: env, Stdout: out})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func get(addr string) (int, string, error) {
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 2 * time.Second}
	resp, err := c.Get("http://" + addr + "/")
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), nil
}

func refused(addr string) bool {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return true
	}
	conn.Close()
	return false
}

func wait(t *testing.T, p cell.Process) cell.ExitStatus {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := p.Wait(ctx)
	if err != nil {
		t.Fatalf("wait: %v", err)
	}
	return st
}

func TestFakeRuntimeServesIndexAndGUID(t *testing.T) {
	rt := celltest.NewFakeRuntime()
	info := newContainer(t, rt, "guid-1")
	if info.NetInfo.Address != "127.0.0.1" || info.NetInfo.InstanceAddress != "127.0.0.1" || len(info.NetInfo.Ports) != 1 {
		t.Fatalf("net info: %+v", info.NetInfo)
	}
	pm := info.NetInfo.Ports[0]
	if pm.ContainerPort != 8080 || pm.HostPort == 0 {
		t.Fatalf("port mapping: %+v", pm)
	}
	addr := info.ProbeAddrs[8080]
	if addr != net.JoinHostPort("127.0.0.1", strconv.Itoa(int(pm.HostPort))) {
		t.Fatalf("probe addr %q does not match host port %d", addr, pm.HostPort)
	}
	out := &syncBuffer{}
	p := run(t, rt, "guid-1", out)
	status, body, err := get(addr)
	if err != nil || status != 200 {
		t.Fatalf("get: %d %v", status, err)
	}
	var doc struct {
		Index        int    `json:"index"`
		InstanceGUID string `json:"instance_guid"`
		ProcessGUID  string `json:"process_guid"`
	}
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatalf("body %q: %v", body, err)
	}
	if doc.Index != 3 || doc.InstanceGUID != "guid-1" || doc.ProcessGUID != "web" {
		t.Fatalf("body: got %+v, want index 3, guid guid-1, process web", doc)
	}
	if !strings.Contains(out.String(), "Serving HTTP on "+addr) {
		t.Fatalf("stdout: %q", out.String())
	}
	if got, _ := rt.Container("guid-1"); got.State != cell.ContainerRunning {
		t.Fatalf("state: got %s, want running", got.State)
	}
	if err := p.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if st := wait(t, p); st.Code != 143 {
		t.Fatalf("exit after SIGTERM: got %+v, want 143", st)
	}
	if !refused(addr) {
		t.Fatal("port still open after exit")
	}
}

func TestFakeRuntimeExitAfter(t *testing.T) {
	rt := celltest.NewFakeRuntime()
	info := newContainer(t, rt, "g")
	p := run(t, rt, "g", nil, celltest.EnvExitAfter+"=20ms", celltest.EnvExitCode+"=3")
	if st := wait(t, p); st.Code != 3 || st.Signal != 0 {
		t.Fatalf("exit: got %+v, want code 3", st)
	}
	if !refused(info.ProbeAddrs[8080]) {
		t.Fatal("port open after the process exited")
	}
	if got, _ := rt.Container("g"); got.State != cell.ContainerStopped {
		t.Fatalf("state: got %s, want stopped", got.State)
	}
}

func TestFakeRuntimeExitCodeDefaultsToZero(t *testing.T) {
	rt := celltest.NewFakeRuntime()
	newContainer(t, rt, "g")
	if st := wait(t, run(t, rt, "g", nil, celltest.EnvExitAfter+"=1ms")); st.Code != 0 {
		t.Fatalf("exit: got %+v, want 0", st)
	}
}

func TestFakeRuntimeScriptFromContainerEnv(t *testing.T) {
	rt := celltest.NewFakeRuntime()
	newContainer(t, rt, "g", celltest.EnvExitAfter+"=1ms", celltest.EnvExitCode+"=9")
	if st := wait(t, run(t, rt, "g", nil)); st.Code != 9 {
		t.Fatalf("exit: got %+v, want 9 from the container's env", st)
	}
}

func TestFakeRuntimeStartDelay(t *testing.T) {
	rt := celltest.NewFakeRuntime()
	info := newContainer(t, rt, "slow")
	run(t, rt, "slow", nil, celltest.EnvStartDelay+"=1h")
	if !refused(info.ProbeAddrs[8080]) {
		t.Fatal("port accepts connections during the start delay")
	}

	info2 := newContainer(t, rt, "quick")
	run(t, rt, "quick", nil, celltest.EnvStartDelay+"=30ms")
	waitFor(t, 5*time.Second, "serving after the delay", func() bool {
		status, _, err := get(info2.ProbeAddrs[8080])
		return err == nil && status == 200
	})
}

func TestFakeRuntimeUnhealthyAfter(t *testing.T) {
	rt := celltest.NewFakeRuntime()
	info := newContainer(t, rt, "g")
	p := run(t, rt, "g", nil, celltest.EnvUnhealthyAfter+"=30ms")
	addr := info.ProbeAddrs[8080]
	waitFor(t, 5*time.Second, "port closed", func() bool { return refused(addr) })
	hc, err := rt.Run(context.Background(), "g", cell.ProcessSpec{Path: "/bin/check", Env: []string{celltest.EnvRole + "=" + cell.ProcessRoleHealthCheck}})
	if err != nil {
		t.Fatal(err)
	}
	if st := wait(t, hc); st.Code != 1 {
		t.Fatalf("exec check on an unhealthy instance: got %+v, want 1", st)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if _, err := p.Wait(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("an unhealthy process keeps running: wait got %v", err)
	}
}

func TestFakeRuntimeHealthCheckProcess(t *testing.T) {
	rt := celltest.NewFakeRuntime()
	newContainer(t, rt, "g")
	run(t, rt, "g", nil)
	hc, err := rt.Run(context.Background(), "g", cell.ProcessSpec{Path: "/bin/check", Env: []string{celltest.EnvRole + "=" + cell.ProcessRoleHealthCheck}})
	if err != nil {
		t.Fatal(err)
	}
	if st := wait(t, hc); st.Code != 0 {
		t.Fatalf("exec check on a serving instance: got %+v, want 0", st)
	}
}

func TestFakeRuntimeSignals(t *testing.T) {
	rt := celltest.NewFakeRuntime()
	newContainer(t, rt, "g")
	p := run(t, rt, "g", nil, celltest.EnvIgnoreSIGTERM+"=true")
	p.Signal(syscall.SIGTERM)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if _, err := p.Wait(ctx); err == nil {
		t.Fatal("process ignoring SIGTERM exited on SIGTERM")
	}
	p.Signal(syscall.SIGKILL)
	if st := wait(t, p); st.Code != 137 || st.Signal != syscall.SIGKILL {
		t.Fatalf("exit after SIGKILL: got %+v, want 137 SIGKILL", st)
	}
	if got := rt.Signals("g"); len(got) != 2 || got[0] != syscall.SIGTERM || got[1] != syscall.SIGKILL {
		t.Fatalf("signals: got %v", got)
	}
}

func TestFakeRuntimeKillAndCounters(t *testing.T) {
	rt := celltest.NewFakeRuntime()
	newContainer(t, rt, "a")
	newContainer(t, rt, "b")
	p := run(t, rt, "a", nil)
	if err := rt.Kill("a", 42); err != nil {
		t.Fatal(err)
	}
	if st := wait(t, p); st.Code != 42 {
		t.Fatalf("exit after Kill: got %+v, want 42", st)
	}
	list, _ := rt.List(context.Background())
	if len(list) != 2 {
		t.Fatalf("list: got %d containers, want 2", len(list))
	}
	st, err := rt.Stats(context.Background(), "a")
	if err != nil || st.MemoryBytes == 0 || st.MemoryLimit != 64<<20 || st.DiskLimit != 128<<20 {
		t.Fatalf("stats: %+v %v", st, err)
	}
	q := run(t, rt, "b", nil)
	rt.Destroy(context.Background(), "b")
	if st := wait(t, q); st.Code != 137 {
		t.Fatalf("exit after Destroy: got %+v, want 137", st)
	}
	if err := rt.Destroy(context.Background(), "b"); err != nil {
		t.Fatalf("destroying a missing container: %v", err)
	}
	if rt.Creates() != 2 || rt.Destroys() != 1 || rt.Len() != 1 {
		t.Fatalf("counters: creates %d destroys %d len %d, want 2 1 1", rt.Creates(), rt.Destroys(), rt.Len())
	}
}

func TestFakeRuntimeCreateError(t *testing.T) {
	rt := celltest.NewFakeRuntime()
	boom := errors.New("no space")
	rt.SetCreateError(func(spec cell.ContainerSpec) error {
		if spec.ID == "bad" {
			return boom
		}
		return nil
	})
	if _, err := rt.Create(context.Background(), cell.ContainerSpec{ID: "bad"}); !errors.Is(err, boom) {
		t.Fatalf("create bad: got %v, want %v", err, boom)
	}
	newContainer(t, rt, "good")
	if _, err := rt.Create(context.Background(), cell.ContainerSpec{ID: "good"}); !errors.Is(err, cell.ErrContainerExists) {
		t.Fatalf("duplicate: got %v, want ErrContainerExists", err)
	}
}

func TestFakeRuntimeBadScript(t *testing.T) {
	rt := celltest.NewFakeRuntime()
	newContainer(t, rt, "g")
	errOut := &syncBuffer{}
	p, err := rt.Run(context.Background(), "g", cell.ProcessSpec{Env: []string{celltest.EnvExitAfter + "=soon"}, Stderr: errOut})
	if err != nil {
		t.Fatal(err)
	}
	if st := wait(t, p); st.Code != 2 || !strings.Contains(errOut.String(), celltest.EnvExitAfter) {
		t.Fatalf("bad script: exit %+v, stderr %q", st, errOut.String())
	}
}
