package runc

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/vishvananda/netlink"

	"github.com/diegod/diegod/cell"
)

// TestMain lets the test binary serve as the container init, as main does
// for the diegod binary, and as the stand-in agent of adopt_test.go. Any
// other re-execution of the test binary refuses to run the tests: a
// container process that ran them would recurse.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "init" {
		Init()
	}
	if os.Getenv(agentEnv) != "" {
		runTestAgent()
	}
	if os.Getenv("_LIBCONTAINER_INITPIPE") != "" || os.Getenv(shimEnv) != "" || os.Getenv(testDepthEnv) != "" {
		fmt.Fprintln(os.Stderr, "runc.test: re-executed outside init/agent mode: not running tests", os.Args)
		os.Exit(3)
	}
	os.Setenv(testDepthEnv, "1")
	os.Exit(m.Run())
}

// testDepthEnv marks the environment of a running test binary.
const testDepthEnv = "DIEGOD_RUNC_TEST_RUNNING"

// needRoot skips container tests where they cannot run.
func needRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("container tests need root: run as root (CI does)")
	}
	probe := "/sys/fs/cgroup/memory"
	if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err == nil {
		probe = "/sys/fs/cgroup" // cgroup v2
	}
	dir, err := os.MkdirTemp(probe, "diegod-probe-")
	if err != nil {
		t.Skipf("container tests need writable cgroups (%s): %v", probe, err)
	}
	os.Remove(dir)
}

// testNet gives each test runtime its own bridge, subnet and port range so
// tests (and a real agent on the machine) do not collide.
var testNet struct {
	sync.Mutex
	n int
}

func testConfig(t testing.TB) Config {
	t.Helper()
	testNet.Lock()
	testNet.n++
	n := testNet.n
	testNet.Unlock()
	var b [2]byte
	_, _ = rand.Read(b[:])
	suffix := hex.EncodeToString(b[:])
	cfg := DefaultConfig()
	cfg.StateDir = filepath.Join(t.TempDir(), "containers")
	cfg.BridgeName = "dgt" + suffix + fmt.Sprint(n%10)
	cfg.Subnet = fmt.Sprintf("10.%d.%d.0/24", 200+int(b[0])%50, b[1])
	start := 40000 + (int(b[0])<<8|int(b[1]))%200*100
	cfg.PortRangeStart, cfg.PortRangeEnd = start, start+99
	return cfg
}

// newTestRuntime opens a runtime on cfg and removes its bridge and NAT
// table when the test ends (after destroying what the test left).
func newTestRuntime(t testing.TB, cfg Config) *Runtime {
	t.Helper()
	r, err := New(cfg, zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.InfoLevel))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		list, _ := r.List(ctx)
		for _, c := range list {
			if err := r.Destroy(ctx, c.ID); err != nil {
				t.Errorf("cleanup destroy %s: %v", c.ID, err)
			}
		}
		_ = r.Close()
		removeTestNetwork(cfg)
	})
	return r
}

// removeTestNetwork deletes a test's bridge and NAT table.
func removeTestNetwork(cfg Config) {
	_ = newNFTForwarder(cfg.BridgeName, mustPrefix(cfg.Subnet)).deleteTable()
	_ = deleteLink(cfg.BridgeName)
}

// waitFor polls cond until it holds or timeout passes.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// syncBuffer is a goroutine-safe bytes.Buffer.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
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

// create makes a container and registers its destruction.
func create(t testing.TB, r *Runtime, spec cell.ContainerSpec) cell.ContainerInfo {
	t.Helper()
	info, err := r.Create(context.Background(), spec)
	if err != nil {
		t.Fatalf("Create(%s): %v", spec.ID, err)
	}
	return info
}

// runWait runs a process as root and waits for it, returning its output.
func runWait(t testing.TB, r *Runtime, id string, path string, args ...string) (cell.ExitStatus, string, string) {
	t.Helper()
	var out, errOut syncBuffer
	p, err := r.Run(context.Background(), id, cell.ProcessSpec{Path: path, Args: args, User: "root", Stdout: &out, Stderr: &errOut})
	if err != nil {
		t.Fatalf("Run(%s %v): %v", path, args, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := p.Wait(ctx)
	if err != nil {
		t.Fatalf("Wait(%s %v): %v", path, args, err)
	}
	return st, out.String(), errOut.String()
}

func testID(t testing.TB) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return "t-" + hex.EncodeToString(b[:])
}

func mustPrefix(s string) netip.Prefix { return netip.MustParsePrefix(s) }

func deleteLink(name string) error {
	l, err := netlink.LinkByName(name)
	if err != nil {
		return err
	}
	return netlink.LinkDel(l)
}
