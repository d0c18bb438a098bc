package runc

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/opencontainers/runc/libcontainer"
	"github.com/rs/zerolog"

	"github.com/diegod/diegod/cell"
)

// agentEnv makes the test binary act as an agent (see runTestAgent).
const agentEnv = "DIEGOD_RUNC_TEST_AGENT"

// runTestAgent is a stand-in agent in its own process: it opens a runtime
// on the Config in $DIEGOD_RUNC_TEST_AGENT, creates container os.Args[1]
// with a port and runs a logging loop in it, creates container os.Args[2]
// with a sleep, prints "ready" and blocks until it is killed.
func runTestAgent() {
	var cfg Config
	if err := json.Unmarshal([]byte(os.Getenv(agentEnv)), &cfg); err != nil {
		fmt.Println("bad config:", err)
		os.Exit(2)
	}
	r, err := New(cfg, zerolog.Nop())
	if err != nil {
		fmt.Println("new:", err)
		os.Exit(2)
	}
	ctx := context.Background()
	id := os.Args[1]
	if _, err := r.Create(ctx, cell.ContainerSpec{ID: id, Labels: map[string]string{cell.LabelKind: "lrp"}, Ports: []uint16{8080}}); err != nil {
		fmt.Println("create:", err)
		os.Exit(2)
	}
	// A health-check-like process that is over before the main one...
	p, err := r.Run(ctx, id, cell.ProcessSpec{Path: "/bin/true"})
	if err == nil {
		_, err = p.Wait(ctx)
	}
	// ... then the main process, logging to a pipe that dies with us.
	if err == nil {
		_, err = r.Run(ctx, id, cell.ProcessSpec{Path: "/bin/sh", Args: []string{"-c", "trap 'exit 0' TERM; while :; do echo tick; sleep 0.05; done"}, Stdout: os.Stderr})
	}
	if err == nil {
		_, err = r.Create(ctx, cell.ContainerSpec{ID: os.Args[2]})
	}
	if err == nil {
		_, err = r.Run(ctx, os.Args[2], cell.ProcessSpec{Path: "sleep", Args: []string{"1000"}})
	}
	if err != nil {
		fmt.Println("run:", err)
		os.Exit(2)
	}
	fmt.Println("ready")
	select {}
}

func TestRestartListsAndAdopts(t *testing.T) {
	needRoot(t)
	cfg := testConfig(t)
	id, orphan := testID(t), testID(t)
	b, _ := json.Marshal(cfg)
	agent := exec.Command(os.Args[0], id, orphan)
	agent.Env = append(os.Environ(), agentEnv+"="+string(b))
	stdout, err := agent.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := agent.Start(); err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(stdout).ReadString('\n')
	if strings.TrimSpace(line) != "ready" {
		_ = agent.Process.Kill()
		_ = agent.Wait()
		t.Fatalf("agent said %q, want ready", line)
	}
	// The agent dies without any cleanup.
	_ = agent.Process.Signal(syscall.SIGKILL)
	_ = agent.Wait()

	// A half-created container (no Ready mark) left by a crash.
	half := testID(t)
	if err := os.MkdirAll(filepath.Join(cfg.StateDir, instancesDir, half), 0o755); err != nil {
		t.Fatal(err)
	}
	hm, _ := json.Marshal(meta{ID: half})
	if err := os.WriteFile(filepath.Join(cfg.StateDir, instancesDir, half, metaFile), hm, 0o600); err != nil {
		t.Fatal(err)
	}

	// A container whose record is lost but whose processes and
	// libcontainer state are not.
	orphanDir := filepath.Join(cfg.StateDir, instancesDir, orphan)
	if err := removeNetns(filepath.Join(orphanDir, "netns")); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(orphanDir); err != nil {
		t.Fatal(err)
	}
	orphanState, err := libcontainer.Load(filepath.Join(cfg.StateDir, libcontainerDir), orphan)
	if err != nil {
		t.Fatal(err)
	}
	orphanLC, err := orphanState.State()
	if err != nil {
		t.Fatal(err)
	}
	orphanCgroups := orphanLC.CgroupPaths

	r := newTestRuntime(t, cfg)
	ctx := context.Background()
	if _, err := os.Stat(filepath.Join(r.lcRoot, orphan)); err == nil {
		t.Errorf("orphan libcontainer state left")
	}
	for _, p := range orphanCgroups {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("orphan cgroup %s left", p)
		}
	}
	list, err := r.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].ID != id || list[0].State != cell.ContainerRunning || list[0].Labels[cell.LabelKind] != "lrp" {
		t.Fatalf("List after restart = %+v, want %s running with its labels", list, id)
	}
	if hp := list[0].NetInfo.HostPort(8080); hp == 0 || !r.ports.used[hp] {
		t.Errorf("host port %d of the adopted container is not reserved", hp)
	}
	if _, err := os.Stat(filepath.Join(cfg.StateDir, instancesDir, half)); err == nil {
		t.Errorf("half-created container %s not destroyed", half)
	}
	// The main process survives its agent and keeps writing to its log
	// pipe: the pause process holds a reader, so no SIGPIPE.
	c, _ := r.get(id)
	main := c.meta.Procs[len(c.meta.Procs)-1]
	w0 := wchar(main.PID)
	waitFor(t, 10*time.Second, "main process to write after its agent died", func() bool {
		return !main.alive() || wchar(main.PID) > w0+50
	})
	if !main.alive() {
		t.Fatalf("main process died after its agent did")
	}
	p, err := r.Adopt(ctx, id)
	if err != nil {
		t.Fatalf("Adopt: %v", err)
	}
	ap, ok := p.(*adoptedProcess)
	if !ok {
		t.Fatalf("Adopt returned %T", p)
	}
	if !ap.rec.alive() {
		t.Fatalf("adopted process %d is not running", ap.rec.PID)
	}
	// A new process in the adopted container works.
	if st, out, _ := runWait(t, r, id, "/bin/echo", "hi"); st.Code != 0 || out != "hi\n" {
		t.Errorf("Run in adopted container: %+v %q", st, out)
	}
	if err := p.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("Signal: %v", err)
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	es, err := p.Wait(wctx)
	if err != nil || es.Code != ExitCodeUnknown || es.OOMKilled {
		t.Errorf("Wait = %+v, %v; want Code ExitCodeUnknown", es, err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		l, _ := r.List(ctx)
		if len(l) == 1 && l[0].State == cell.ContainerStopped {
			break
		}
		if time.Now().After(deadline) {
			c.pmu.Lock()
			live := len(c.procs)
			c.pmu.Unlock()
			for _, rec := range c.meta.Procs {
				st, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", rec.PID))
				t.Logf("recorded process %d: alive %v, /proc stat %q", rec.PID, rec.alive(), st)
			}
			t.Fatalf("container not stopped after 20 s: list %+v, live processes %d, pause alive %v", l, live, r.initAlive(c))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, err := r.Adopt(ctx, id); err == nil {
		t.Errorf("Adopt with no process left: want an error")
	}
	if err := r.Destroy(ctx, id); err != nil {
		t.Fatalf("Destroy: %v", err)
	}
	if mps, _ := mountPointsUnder(cfg.StateDir); len(mps) != 0 {
		t.Errorf("mounts left: %v", mps)
	}
}

// wchar is the bytes pid has written (/proc/<pid>/io), 0 if unknown.
func wchar(pid int) uint64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "wchar: "); ok {
			n, _ := strconv.ParseUint(v, 10, 64)
			return n
		}
	}
	return 0
}
