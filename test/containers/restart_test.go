package containers

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"syscall"
	"testing"
	"time"

	"github.com/diegod/diegod/node"
)

// TestAgentKilledAndRestartedAdoptsContainers: an agent killed with SIGKILL
// leaves its containers running; the next agent on the same data dir adopts
// them (same instance guids, still RUNNING) and starts no duplicates.
func TestAgentKilledAndRestartedAdoptsContainers(t *testing.T) {
	needRoot(t)
	dir := t.TempDir()
	cfg := nodeConfig(dir)
	cfg.APIPort, cfg.RaftPort, cfg.RouterPort = 18989, 18990, 18980
	agent := startAgent(t, cfg)
	c, err := node.NewClient("127.0.0.1:18989", readToken(t, dir), nil)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "the agent's API", func() bool { _, err := c.LRPs(context.Background()); return err == nil })
	var submitErr error
	waitFor(t, 20*time.Second, "submit accepted", func() bool {
		_, submitErr = c.Submit(context.Background(), httpServerLRP("sticky", 2))
		return submitErr == nil
	})
	waitFor(t, 60*time.Second, "2 RUNNING", func() bool { return len(running(status(t, c, "sticky"))) == 2 })
	before := guids(status(t, c, "sticky"))

	if err := agent.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = agent.Wait()
	for _, g := range before {
		if _, err := os.Stat(filepath.Join("/sys/fs/cgroup/pids/diegod", g)); err != nil {
			t.Fatalf("container %s gone after agent SIGKILL: %v", g, err)
		}
	}

	agent2 := startAgent(t, cfg)
	_ = agent2
	waitFor(t, 30*time.Second, "the restarted agent's API", func() bool { _, err := c.LRPs(context.Background()); return err == nil })
	waitFor(t, 30*time.Second, "the same 2 instances RUNNING", func() bool {
		st, err := c.Status(context.Background(), "sticky", 0, 0)
		return err == nil && len(running(st)) == 2 && equal(guids(st), before)
	})
	entries, _ := filepath.Glob("/sys/fs/cgroup/pids/diegod/*")
	n := 0
	for _, e := range entries {
		for _, g := range before {
			if filepath.Base(e) == g {
				n++
			}
		}
	}
	if n != 2 {
		t.Errorf("containers of the LRP after restart: got %d, want 2", n)
	}
	if _, err := c.Delete(context.Background(), "sticky"); err != nil {
		t.Fatal(err)
	}
	for _, g := range before {
		waitFor(t, 30*time.Second, "container "+g+" gone", func() bool { return len(leftovers(t, g, dir)) == 0 })
	}
}

func startAgent(t *testing.T, cfg node.Config) *exec.Cmd {
	t.Helper()
	data, _ := json.Marshal(cfg)
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), agentEnv+"="+string(data))
	logf, err := os.OpenFile(filepath.Join(cfg.DataDir, "agent.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
		logf.Close()
		if t.Failed() {
			out, _ := os.ReadFile(logf.Name())
			t.Logf("agent log:\n%s", out)
		}
	})
	return cmd
}

func readToken(t *testing.T, dir string) string {
	t.Helper()
	var tok []byte
	waitFor(t, 10*time.Second, "the operator token", func() bool {
		var err error
		tok, err = os.ReadFile(filepath.Join(dir, "operator-token"))
		return err == nil && len(tok) > 0
	})
	return string(tok)
}

func guids(st node.LRPStatus) []string {
	var out []string
	for _, r := range running(st) {
		out = append(out, r.InstanceGUID)
	}
	sort.Strings(out)
	return out
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
