package containers

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/diegod/diegod/model"
	"github.com/diegod/diegod/node"
)

// Each test node gets its own bridge, subnet and host ports, so these tests
// can run next to the runtime's own tests.
const (
	testBridge   = "dgtest0"
	testSubnet   = "10.253.0.0/24"
	testPortFrom = 62100
	testPortTo   = 62199
)

func needRoot(t testing.TB) {
	t.Helper()
	if why := cannotRunContainers(); why != "" {
		t.Skip(why)
	}
}

// cannotRunContainers says why containers cannot run here, or "".
func cannotRunContainers() string {
	if os.Geteuid() != 0 {
		return "container tests need root: run as root (CI does)"
	}
	probe := "/sys/fs/cgroup/memory"
	if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err == nil {
		probe = "/sys/fs/cgroup"
	}
	dir, err := os.MkdirTemp(probe, "diegod-probe-")
	if err != nil {
		return "container tests need writable cgroups (" + probe + "): " + err.Error()
	}
	os.Remove(dir)
	return ""
}

func nodeConfig(dataDir string) node.Config {
	cfg := node.DefaultConfig()
	cfg.NodeName = "ctr"
	cfg.DataDir = dataDir
	cfg.Runtime = node.RuntimeRunc
	cfg.Dev = true // plain HTTP on loopback, as `diegod agent --dev`
	cfg.APIPort, cfg.RaftPort, cfg.GossipPort, cfg.RouterPort = 0, 0, 0, 0
	cfg.MemoryMB, cfg.DiskMB = 8192, 8192
	cfg.StopGrace = 2 * time.Second
	cfg.ContainerBridge, cfg.ContainerSubnet = testBridge, testSubnet
	cfg.HostPortStart, cfg.HostPortEnd = testPortFrom, testPortTo
	return cfg
}

type runningNode struct {
	n       *node.Node
	client  *node.Client
	cancel  context.CancelFunc
	done    chan error
	dataDir string
}

// shutdown deletes every LRP, waits until their containers are destroyed,
// then stops the node.
func (rn *runningNode) shutdown(t testing.TB) {
	if rn.cancel == nil {
		return
	}
	lrps, _ := rn.client.LRPs(context.Background())
	for _, l := range lrps {
		_, _ = rn.client.Delete(context.Background(), l.ProcessGUID)
	}
	waitFor(t, 60*time.Second, "every container destroyed", func() bool {
		m, _ := filepath.Glob(filepath.Join(rn.dataDir, "containers", "instances", "*"))
		return len(m) == 0
	})
	rn.cancel()
	rn.cancel = nil
	<-rn.done
}

func startNode(t testing.TB, cfg node.Config) *runningNode {
	t.Helper()
	n, err := node.New(cfg, zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel))
	if err != nil {
		t.Fatalf("node.New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	rn := &runningNode{n: n, cancel: cancel, done: make(chan error, 1), dataDir: cfg.DataDir}
	go func() { rn.done <- n.Run(ctx) }()
	rn.client, err = node.NewClient(n.APIAddr(), n.Token(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rn.shutdown(t) })
	waitFor(t, 10*time.Second, "a leader", func() bool { return n.Store().IsLeader() })
	return rn
}

func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func status(t testing.TB, c *node.Client, guid string) node.LRPStatus {
	t.Helper()
	st, err := c.Status(context.Background(), guid, 0, 0)
	if err != nil {
		t.Fatalf("status %s: %v", guid, err)
	}
	return st
}

func running(st node.LRPStatus) []model.ActualLRP {
	var out []model.ActualLRP
	for _, in := range st.Instances {
		if in.State == model.StateRunning && in.Presence == model.PresenceOrdinary {
			out = append(out, in.ActualLRP)
		}
	}
	return out
}

func httpServerLRP(guid string, instances int) model.DesiredLRP {
	return model.DesiredLRP{
		ProcessGUID: guid, Instances: instances, MemoryMB: 128, DiskMB: 64, MaxPids: 64,
		Action: &model.Action{Run: &model.RunAction{Path: "/usr/bin/python3",
			Args: []string{"-m", "http.server", "8080"}, Dir: "/tmp"}},
		Ports:          []uint16{8080},
		HealthCheck:    &model.HealthCheck{Type: model.HealthCheckHTTP, Port: 8080, Path: "/"},
		StartTimeoutMS: 60000,
	}
}

// leftovers lists what a container of instance guid could leave behind:
// cgroup dirs, netns and veth names, mounts under dataDir.
func leftovers(t testing.TB, guid, dataDir string) []string {
	t.Helper()
	var out []string
	for _, ctrl := range []string{"memory", "pids", "cpu", "cpuacct", "freezer", "devices", "blkio", "cpuset"} {
		if m, _ := filepath.Glob(filepath.Join("/sys/fs/cgroup", ctrl, "diegod", guid)); len(m) > 0 {
			out = append(out, m...)
		}
	}
	mounts, _ := os.ReadFile("/proc/1/mountinfo")
	for _, line := range strings.Split(string(mounts), "\n") {
		if strings.Contains(line, guid) || (dataDir != "" && strings.Contains(line, filepath.Join(dataDir, "containers"))) {
			out = append(out, "mount: "+line)
		}
	}
	if m, _ := filepath.Glob(filepath.Join(dataDir, "containers", "*", guid)); len(m) > 0 {
		out = append(out, m...)
	}
	return out
}
