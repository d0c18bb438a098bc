package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/nftables"
	"github.com/rs/zerolog"
	"github.com/vishvananda/netlink"

	"github.com/diegod/diegod/model"
	"github.com/diegod/diegod/node"
)

// Real-container task tests: one node with the runc runtime. They need
// root and writable cgroups and skip with the reason otherwise; CI runs
// them as root.

// needContainers skips the test where real containers cannot run.
func needContainers(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("real-container tests: skipped with -short")
	}
	if os.Geteuid() != 0 {
		t.Skip("real-container tests need root: run as root (CI does)")
	}
	probe := "/sys/fs/cgroup/memory"
	if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err == nil {
		probe = "/sys/fs/cgroup" // cgroup v2
	}
	dir, err := os.MkdirTemp(probe, "diegod-probe-")
	if err != nil {
		t.Skipf("real-container tests need writable cgroups (%s): %v", probe, err)
	}
	os.Remove(dir)
}

// containerNode is a running one-node cluster on the runc runtime.
type containerNode struct {
	n       *node.Node
	client  *node.Client
	dataDir string
}

// startContainerNode starts a node with real containers on its own bridge,
// subnet and host ports, and removes them when the test ends. It skips the
// test when the runc runtime is unavailable in this build.
func startContainerNode(t testing.TB) *containerNode {
	t.Helper()
	needContainers(t)
	var b [2]byte
	_, _ = rand.Read(b[:])
	cfg := node.DefaultConfig()
	cfg.NodeName = "task-e2e"
	cfg.DataDir = t.TempDir()
	cfg.Dev = true
	cfg.Runtime = node.RuntimeRunc
	cfg.APIPort, cfg.RaftPort, cfg.GossipPort, cfg.RouterPort = 0, 0, 0, 0
	cfg.MemoryMB, cfg.DiskMB = 8192, 8192
	cfg.StopGrace = 2 * time.Second
	cfg.ContainerBridge = fmt.Sprintf("dtk%02x%02x", b[0], b[1])
	cfg.ContainerSubnet = fmt.Sprintf("10.%d.%d.0/24", 150+int(b[0])%50, b[1])
	cfg.HostPortStart = 30000 + (int(b[0])<<8|int(b[1]))%200*50
	cfg.HostPortEnd = cfg.HostPortStart + 49
	t.Cleanup(func() { removeNetwork(cfg.ContainerBridge) })
	n, err := node.New(cfg, zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel))
	if err != nil {
		if strings.Contains(err.Error(), "not available") {
			t.Skipf("the runc runtime is unavailable in this build: %v", err)
		}
		t.Fatalf("node.New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("node Run: %v", err)
			}
		case <-time.After(60 * time.Second):
			t.Errorf("node did not stop within 60 s")
		}
	})
	c, err := node.NewClient(n.APIAddr(), n.Token(), nil)
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 20*time.Second, "a leader", func() bool { return n.Store().IsLeader() })
	return &containerNode{n: n, client: c, dataDir: cfg.DataDir}
}

// removeNetwork deletes a test node's bridge and its nftables table.
func removeNetwork(bridge string) {
	if l, err := netlink.LinkByName(bridge); err == nil {
		_ = netlink.LinkDel(l)
	}
	if c, err := nftables.New(); err == nil {
		c.DelTable(&nftables.Table{Name: bridge, Family: nftables.TableFamilyIPv4})
		_ = c.Flush()
	}
}

func waitUntil(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// desire submits a task through the store (the node's leader).
func (cn *containerNode) desire(t testing.TB, spec model.TaskSpec) {
	t.Helper()
	spec.Normalize()
	if _, err := cn.n.Store().Propose(context.Background(), model.DesireTask{Task: spec}); err != nil {
		t.Fatalf("desire task %s: %v", spec.TaskGUID, err)
	}
}

func (cn *containerNode) task(guid string) (model.Task, bool) { return cn.n.Store().View().Task(guid) }

// waitCompleted waits for the task to complete and returns it.
func (cn *containerNode) waitCompleted(t testing.TB, guid string) model.Task {
	t.Helper()
	var got model.Task
	waitUntil(t, 60*time.Second, "task "+guid+" to complete", func() bool {
		task, ok := cn.task(guid)
		got = task
		return ok && task.IsFinished()
	})
	return got
}

// noContainer reports whether the runtime holds nothing for id.
func (cn *containerNode) noContainer(id string) bool {
	_, err := os.Stat(filepath.Join(cn.dataDir, "containers", "instances", id))
	return errors.Is(err, os.ErrNotExist)
}

func shTask(guid, script string) model.TaskSpec {
	return model.TaskSpec{TaskGUID: guid, TaskDefinition: model.TaskDefinition{MemoryMB: 64, DiskMB: 64,
		Action: &model.Action{Run: &model.RunAction{Path: "/bin/sh", Args: []string{"-c", script}}}}}
}

func TestContainerTasks(t *testing.T) {
	cn := startContainerNode(t)

	t.Run("result file", func(t *testing.T) {
		spec := shTask("result-42", "echo 42 > /tmp/result")
		spec.ResultFile = "/tmp/result"
		cn.desire(t, spec)
		got := cn.waitCompleted(t, "result-42")
		if got.Failed || got.Result != "42\n" {
			t.Errorf("task: got failed %v (%q) result %q, want result %q", got.Failed, got.FailureReason, got.Result, "42\n")
		}
		waitUntil(t, 30*time.Second, "its container to go", func() bool { return cn.noContainer("result-42") })
	})

	t.Run("exit 3", func(t *testing.T) {
		cn.desire(t, shTask("exit-3", "exit 3"))
		got := cn.waitCompleted(t, "exit-3")
		if !got.Failed || !strings.Contains(got.FailureReason, "Exited with status 3") {
			t.Errorf("task: got failed %v reason %q, want the exit status 3 in the reason", got.Failed, got.FailureReason)
		}
	})

	t.Run("cancel sleep 3600", func(t *testing.T) {
		spec := model.TaskSpec{TaskGUID: "sleeper", TaskDefinition: model.TaskDefinition{MemoryMB: 64, DiskMB: 64,
			Action: &model.Action{Run: &model.RunAction{Path: "/bin/sleep", Args: []string{"3600"}}}}}
		cn.desire(t, spec)
		waitUntil(t, 30*time.Second, "the task to run in a container", func() bool {
			task, _ := cn.task("sleeper")
			return task.State == model.TaskRunning && !cn.noContainer("sleeper")
		})
		if _, err := cn.n.Store().Propose(context.Background(), model.CancelTask{TaskGUID: "sleeper"}); err != nil {
			t.Fatal(err)
		}
		got := cn.waitCompleted(t, "sleeper")
		if !got.Failed || got.FailureReason != model.TaskReasonCancelled {
			t.Errorf("task: got failed %v reason %q, want %q", got.Failed, got.FailureReason, model.TaskReasonCancelled)
		}
		waitUntil(t, 30*time.Second, "no container left", func() bool { return cn.noContainer("sleeper") })
	})

	t.Run("callbacks", func(t *testing.T) {
		// The callback worker and the task API are wired into the node by
		// node.go; skip until they are.
		if _, err := cn.client.Tasks(context.Background(), ""); err != nil {
			t.Skipf("the task API is not wired into this node yet: %v", err)
		}
		var mu sync.Mutex
		var got []node.TaskCallback
		script := []int{http.StatusServiceUnavailable}
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var cb node.TaskCallback
			_ = json.NewDecoder(r.Body).Decode(&cb)
			mu.Lock()
			defer mu.Unlock()
			got = append(got, cb)
			status := http.StatusOK
			if len(script) > 0 {
				status, script = script[0], script[1:]
			}
			w.WriteHeader(status)
		}))
		defer srv.Close()
		spec := shTask("called-back", "echo done > /tmp/r")
		spec.ResultFile = "/tmp/r"
		spec.CompletionCallbackURL = srv.URL
		if _, err := cn.client.SubmitTask(context.Background(), spec); err != nil {
			t.Fatal(err)
		}
		waitUntil(t, 60*time.Second, "the task to be resolved and deleted", func() bool {
			_, ok := cn.task("called-back")
			return !ok
		})
		mu.Lock()
		defer mu.Unlock()
		if len(got) != 2 || got[1].TaskGUID != "called-back" || got[1].Result != "done\n" || got[1].Failed {
			t.Errorf("callbacks: got %+v, want a 503 answered then one retry with the result", got)
		}
	})
}

// BenchmarkContainerTasks measures 100 real-container tasks (/bin/true)
// submitted at once until all are COMPLETED.
func BenchmarkContainerTasks(b *testing.B) {
	cn := startContainerNode(b)
	const n = 100
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		for j := 0; j < n; j++ {
			spec := model.TaskSpec{TaskGUID: fmt.Sprintf("true-%d-%d", i, j), TaskDefinition: model.TaskDefinition{
				MemoryMB: 16, DiskMB: 16, Action: &model.Action{Run: &model.RunAction{Path: "/bin/true"}}}}
			spec.Normalize()
			go func() { _, _ = cn.n.Store().Propose(context.Background(), model.DesireTask{Task: spec}) }()
		}
		prefix := fmt.Sprintf("true-%d-", i)
		waitUntil(b, 5*time.Minute, "100 completed tasks", func() bool {
			done := 0
			for _, t := range cn.n.Store().View().Tasks() {
				if strings.HasPrefix(t.TaskGUID, prefix) && t.IsFinished() {
					if t.Failed {
						b.Fatalf("task %s failed: %s", t.TaskGUID, t.FailureReason)
					}
					done++
				}
			}
			return done == n
		})
		b.ReportMetric(time.Since(start).Seconds(), "s/100-tasks")
	}
}
