package node

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/diegod/diegod/cell/celltest"
	"github.com/diegod/diegod/model"
)

// testNode is a running node with a client to its API.
type testNode struct {
	*Node
	client *Client
	cancel context.CancelFunc
	done   chan error
}

func testConfig(t *testing.T, dataDir string) Config {
	t.Helper()
	cfg := DefaultConfig()
	cfg.NodeName = "cell-1"
	cfg.DataDir = dataDir
	cfg.Runtime = RuntimeFake
	cfg.Dev = true // plain HTTP API; the cluster suite (nodetest) covers TLS
	cfg.APIPort, cfg.RaftPort, cfg.GossipPort, cfg.RouterPort = 0, 0, 0, 0
	cfg.MemoryMB, cfg.DiskMB = 4096, 4096
	cfg.StopGrace = time.Second
	return cfg
}

// startNode starts a node on dataDir and stops it at the end of the test.
func startNode(t testing.TB, cfg Config) *testNode {
	t.Helper()
	n, err := New(cfg, zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	tn := &testNode{Node: n, cancel: cancel, done: make(chan error, 1)}
	go func() { tn.done <- n.Run(ctx) }()
	tn.client, err = NewClient(n.APIAddr(), n.Token(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tn.stop(t) })
	waitFor(t, 10*time.Second, "a leader", func() bool { return n.Store().IsLeader() })
	// Leadership comes before the replayed log is applied; a Barrier waits
	// for it.
	if err := n.Store().Barrier(context.Background()); err != nil {
		t.Fatalf("barrier: %v", err)
	}
	return tn
}

func (tn *testNode) stop(t testing.TB) {
	t.Helper()
	if tn.cancel == nil {
		return
	}
	tn.cancel()
	tn.cancel = nil
	select {
	case err := <-tn.done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("node did not stop within 30 s")
	}
}

func (tn *testNode) fake() *celltest.FakeRuntime { return tn.runtime.(*celltest.FakeRuntime) }

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func fakeLRP(guid string, instances int, env map[string]string) model.DesiredLRP {
	return model.DesiredLRP{ProcessGUID: guid, Instances: instances, MemoryMB: 32, DiskMB: 32,
		Action: &model.Action{Run: &model.RunAction{Path: "/bin/fake", Env: env}}, Ports: []uint16{8080}}
}

func (tn *testNode) states(t *testing.T, guid string) map[model.ActualLRPState]int {
	t.Helper()
	st, err := tn.client.Status(context.Background(), guid, 0, 0)
	if err != nil {
		t.Fatalf("status %s: %v", guid, err)
	}
	out := map[model.ActualLRPState]int{}
	for _, in := range st.Instances {
		if in.Presence == model.PresenceOrdinary {
			out[in.State]++
		}
	}
	return out
}

func (tn *testNode) waitRunning(t *testing.T, guid string, n int) {
	t.Helper()
	waitFor(t, 20*time.Second, "running instances", func() bool {
		s := tn.states(t, guid)
		return s[model.StateRunning] == n && len(s) == 1
	})
}

func TestSubmitScaleDelete(t *testing.T) {
	tn := startNode(t, testConfig(t, t.TempDir()))
	ctx := context.Background()
	if _, err := tn.client.Submit(ctx, fakeLRP("web", 5, nil)); err != nil {
		t.Fatal(err)
	}
	tn.waitRunning(t, "web", 5)
	st, _ := tn.client.Status(ctx, "web", 0, 0)
	for _, in := range st.Instances {
		if in.CellID != "cell-1" || in.Address == "" || len(in.Ports) != 1 || in.Ports[0].HostPort == 0 {
			t.Errorf("instance %d: got cell %q address %q ports %v, want placed with a host port", in.Index, in.CellID, in.Address, in.Ports)
		}
	}
	if _, err := tn.client.Scale(ctx, "web", 8); err != nil {
		t.Fatal(err)
	}
	tn.waitRunning(t, "web", 8)
	if _, err := tn.client.Scale(ctx, "web", 2); err != nil {
		t.Fatal(err)
	}
	tn.waitRunning(t, "web", 2)
	waitFor(t, 10*time.Second, "2 containers", func() bool { return tn.fake().Len() == 2 })
	if _, err := tn.client.Delete(ctx, "web"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "no containers", func() bool { return tn.fake().Len() == 0 })
	if _, err := tn.client.Status(ctx, "web", 0, 0); !errors.Is(err, model.ErrNotFound) {
		t.Errorf("status after delete: got %v, want not found", err)
	}
	cells, err := tn.client.Cells(ctx)
	if err != nil || len(cells) != 1 || cells[0].Allocated.Containers != 0 {
		t.Errorf("cells after delete: got %+v, %v; want one cell with nothing allocated", cells, err)
	}
}

func TestCrashFollowsRestartPolicy(t *testing.T) {
	tn := startNode(t, testConfig(t, t.TempDir()))
	env := map[string]string{celltest.EnvExitAfter: "20ms", celltest.EnvExitCode: "3"}
	lrp := fakeLRP("crashy", 1, env)
	lrp.HealthCheck = &model.HealthCheck{Type: model.HealthCheckNone}
	if _, err := tn.client.Submit(context.Background(), lrp); err != nil {
		t.Fatal(err)
	}
	// Two immediate restarts, then the third crash leaves it CRASHED with
	// a 30 s backoff (spec §4).
	var row model.ActualLRP
	waitFor(t, 20*time.Second, "a CRASHED row", func() bool {
		st, err := tn.client.Status(context.Background(), "crashy", 0, 0)
		if err != nil || len(st.Instances) != 1 {
			return false
		}
		row = st.Instances[0].ActualLRP
		return row.State == model.StateCrashed
	})
	if row.CrashCount != 3 {
		t.Errorf("crash count when first CRASHED: got %d, want 3", row.CrashCount)
	}
	if !strings.Contains(row.CrashReason, "Exited with status 3") {
		t.Errorf("crash reason: got %q, want it to contain %q", row.CrashReason, "Exited with status 3")
	}
	if at, ok := model.RestartAt(row.Since, row.CrashCount); !ok || at.Sub(row.Since) != 30*time.Second {
		t.Errorf("restart at: got %v (ok %v), want 30 s after the crash", at.Sub(row.Since), ok)
	}
	if n := tn.fake().Len(); n != 0 {
		t.Errorf("containers of a CRASHED instance: got %d, want 0", n)
	}
}

func TestRestartKeepsEverything(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(t, dir)
	tn := startNode(t, cfg)
	ctx := context.Background()
	for _, guid := range []string{"a", "b"} {
		if _, err := tn.client.Submit(ctx, fakeLRP(guid, 3, nil)); err != nil {
			t.Fatal(err)
		}
		tn.waitRunning(t, guid, 3)
	}
	if _, err := tn.client.Scale(ctx, "b", 1); err != nil {
		t.Fatal(err)
	}
	tn.waitRunning(t, "b", 1)
	tn.stop(t)

	tn2 := startNode(t, cfg)
	lrps, err := tn2.client.LRPs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(lrps) != 2 || lrps[0].ProcessGUID != "a" || lrps[0].Desired != 3 || lrps[1].Desired != 1 {
		t.Fatalf("after restart: got %+v, want a=3 and b=1", lrps)
	}
	tn2.waitRunning(t, "a", 3)
	tn2.waitRunning(t, "b", 1)
	waitFor(t, 10*time.Second, "4 containers", func() bool { return tn2.fake().Len() == 4 })
}

func TestRouterServesRunningInstances(t *testing.T) {
	tn := startNode(t, testConfig(t, t.TempDir()))
	ctx := context.Background()
	lrp := fakeLRP("hello", 3, nil)
	lrp.Routes = []string{"hello.home.arpa"}
	if _, err := tn.client.Submit(ctx, lrp); err != nil {
		t.Fatal(err)
	}
	tn.waitRunning(t, "hello", 3)
	waitFor(t, 5*time.Second, "3 endpoints in the route table", func() bool {
		rs, err := tn.client.Routes(ctx)
		return err == nil && len(rs) == 1 && len(rs[0].Endpoints) == 3
	})
	seen := map[string]bool{}
	for i := 0; i < 9; i++ {
		req, _ := http.NewRequest(http.MethodGet, "http://"+tn.RouterAddr()+"/", nil)
		req.Host = "Hello.Home.Arpa"
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"process_guid":"hello"`) {
			t.Fatalf("request %d: got %d %s", i, resp.StatusCode, body)
		}
		seen[string(body)] = true
	}
	if len(seen) != 3 {
		t.Errorf("distinct instances answering: got %d, want 3", len(seen))
	}
}
