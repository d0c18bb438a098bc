package raftstore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/diegod/diegod/model"
	"github.com/hashicorp/raft"
	"github.com/rs/zerolog"
)

const storeWait = 20 * time.Second

// waitCtx returns a context that ends after storeWait (or with the test).
func waitCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), storeWait)
	t.Cleanup(cancel)
	return ctx
}

// testLogger logs warnings and above to the test log when -v is set.
func testLogger(t testing.TB) zerolog.Logger {
	if testing.Verbose() {
		return zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)
	}
	return zerolog.Nop()
}

// fastConfig returns a bootstrapping single-node config with short timings.
func fastConfig(id string) Config {
	cfg := DefaultConfig()
	cfg.NodeID = id
	cfg.Bootstrap = true
	cfg.HeartbeatTimeout = 100 * time.Millisecond
	cfg.ElectionTimeout = 100 * time.Millisecond
	cfg.LeaderLeaseTimeout = 50 * time.Millisecond
	return cfg
}

// openStore opens cfg and waits until it leads; it is closed at cleanup.
func openStore(t testing.TB, cfg Config) *Store {
	t.Helper()
	s, err := Open(cfg, testLogger(t))
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	waitFor(t, storeWait, "leadership", s.IsLeader)
	return s
}

// memStore is a single in-memory node on an in-memory transport.
func memStore(t testing.TB, rec Recorder) *Store {
	t.Helper()
	cfg := fastConfig("n1")
	cfg.InMemory = true
	_, trans := raft.NewInmemTransport("n1")
	cfg.Transport = trans
	cfg.Metrics = rec
	return openStore(t, cfg)
}

// diskConfig is a single node with its state under dir, on an in-memory
// transport.
func diskConfig(dir string) Config {
	cfg := fastConfig("n1")
	cfg.DataDir = dir
	_, trans := raft.NewInmemTransport("n1")
	cfg.Transport = trans
	return cfg
}

func propose(t testing.TB, s *Store, cmds ...model.Command) uint64 {
	t.Helper()
	var idx uint64
	for _, c := range cmds {
		ctx, cancel := context.WithTimeout(context.Background(), storeWait)
		i, err := s.Propose(ctx, c)
		cancel()
		if err != nil {
			t.Fatalf("propose %s: %v", c.CommandName(), err)
		}
		idx = i
	}
	return idx
}

// workload proposes a mix of commands touching every table.
func workload(t testing.TB, s *Store, guid string) uint64 {
	t.Helper()
	propose(t, s, model.UpsertCell{Cell: cell("c1", 4096)}, model.DesireLRP{LRP: lrp(guid, 3)},
		claim(guid, 0, guid+"-i0", "c1"), claim(guid, 1, guid+"-i1", "c1"))
	return propose(t, s, model.StartActualLRP{Key: key(guid, 0), InstanceKey: ikey(guid+"-i0", "c1"), NetInfo: netInfo("h", 1)},
		model.CrashActualLRP{Key: key(guid, 1), InstanceKey: ikey(guid+"-i1", "c1"), Reason: "boom"})
}

func TestStoreProposeResults(t *testing.T) {
	s := memStore(t, nil)
	idx := workload(t, s, "app")
	if err := s.WaitIndex(waitCtx(t), idx); err != nil {
		t.Fatal(err)
	}
	if got := s.View().Index(); got < idx {
		t.Errorf("view index %d < proposal index %d", got, idx)
	}
	if got, _ := s.View().ActualLRP(key("app", 0), model.PresenceOrdinary); got.State != model.StateRunning {
		t.Errorf("row 0: %s", fmtRow(got))
	}

	ridx, err := s.Propose(t.Context(), model.RemoveDesiredLRP{ProcessGUID: "missing"})
	if !errors.Is(err, model.ErrNotFound) {
		t.Fatalf("rejection: got %v, want not found", err)
	}
	var me *model.Error
	if !errors.As(err, &me) || !strings.Contains(me.Message, "missing") {
		t.Errorf("rejection: %#v", err)
	}
	if ridx <= idx {
		t.Errorf("rejection index: got %d, want > %d", ridx, idx)
	}

	var nilCmd model.Command
	if _, err := s.Propose(t.Context(), nilCmd); model.CodeOf(err) != model.CodeUnsupportedCommand {
		t.Errorf("nil command: got %v", err)
	}
}

func TestStoreGroupCommit(t *testing.T) {
	rec := newCountingRecorder()
	s := memStore(t, rec)
	propose(t, s, model.UpsertCell{Cell: cell("c1", 1)})
	rec.mu.Lock()
	rec.entries = nil
	rec.mu.Unlock()

	const n = 2000
	var (
		wg      sync.WaitGroup
		start   = make(chan struct{})
		errs    = make([]error, n)
		indices = make([]uint64, n)
	)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-start
			var cmd model.Command = model.DesireLRP{LRP: lrp(fmt.Sprintf("app-%d", i), 0)}
			if i%2 == 1 {
				cmd = model.RemoveDesiredLRP{ProcessGUID: fmt.Sprintf("missing-%d", i)}
			}
			ctx, cancel := context.WithTimeout(context.Background(), storeWait)
			defer cancel()
			indices[i], errs[i] = s.Propose(ctx, cmd)
		}(i)
	}
	close(start)
	wg.Wait()

	distinct := map[uint64]bool{}
	for i := 0; i < n; i++ {
		distinct[indices[i]] = true
		if i%2 == 0 {
			if errs[i] != nil {
				t.Fatalf("proposer %d: %v", i, errs[i])
			}
			continue
		}
		if want := fmt.Sprintf("desired lrp missing-%d not found", i); errs[i] == nil || errs[i].Error() != want {
			t.Fatalf("proposer %d: got %v, want %q", i, errs[i], want)
		}
	}
	if got := len(s.View().DesiredLRPs()); got != n/2 {
		t.Errorf("desired lrps: got %d, want %d", got, n/2)
	}
	rec.mu.Lock()
	entries, commands := len(rec.entries), 0
	for _, c := range rec.entries {
		commands += c
	}
	rec.mu.Unlock()
	t.Logf("%d commands in %d log entries", commands, entries)
	if commands != n {
		t.Errorf("commands applied: got %d, want %d", commands, n)
	}
	if entries*4 > n {
		t.Errorf("group commit: %d entries for %d commands, want at most %d", entries, n, n/4)
	}
	if len(distinct) != entries {
		t.Errorf("distinct indices returned: %d, entries: %d", len(distinct), entries)
	}
}

func dumpStore(s *Store) dump { return dumpOf(s.View()) }

func TestStoreRestartRecoversFromLog(t *testing.T) {
	testRestart(t, false)
}

func TestStoreRestartRecoversFromSnapshotAndLog(t *testing.T) {
	testRestart(t, true)
}

func testRestart(t *testing.T, snapshot bool) {
	dir := t.TempDir()
	s, err := Open(diskConfig(dir), testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, storeWait, "leadership", s.IsLeader)
	workload(t, s, "app")
	if snapshot {
		if err := s.Raft().Snapshot().Error(); err != nil {
			t.Fatalf("snapshot: %v", err)
		}
	}
	last := workload(t, s, "app2")
	want := dumpStore(s)
	if want.Index != last {
		t.Fatalf("index before close: %d, want %d", want.Index, last)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, RaftDBFile)); err != nil {
		t.Fatalf("raft.db: %v", err)
	}
	snaps, _ := os.ReadDir(filepath.Join(dir, SnapshotDir))
	if snapshot != (len(snaps) > 0) {
		t.Fatalf("snapshots on disk: %d (snapshot taken: %v)", len(snaps), snapshot)
	}

	s2 := openStore(t, diskConfig(dir))
	if err := s2.WaitIndex(waitCtx(t), last); err != nil {
		t.Fatal(err)
	}
	if got := dumpStore(s2); !reflect.DeepEqual(got, want) {
		t.Errorf("state after restart differs:\ngot  %+v\nwant %+v", got, want)
	}
	// The restarted node keeps working.
	propose(t, s2, model.RemoveDesiredLRP{ProcessGUID: "app"})
}

func TestStoreTCPTransport(t *testing.T) {
	cfg := fastConfig("tcp1")
	cfg.DataDir = t.TempDir()
	cfg.BindAddr = "127.0.0.1:0"
	s := openStore(t, cfg)
	propose(t, s, model.UpsertCell{Cell: cell("c1", 1)})
	if _, addr := s.Leader(); !strings.HasPrefix(addr, "127.0.0.1:") || strings.HasSuffix(addr, ":0") {
		t.Errorf("leader address: %q", addr)
	}
	if st := s.Stats(); st["state"] != "Leader" || st["fsm_applied_index"] == "" {
		t.Errorf("stats: %v", st)
	}
}

func TestStoreLeadershipAndWaits(t *testing.T) {
	s := memStore(t, nil)
	select {
	case v := <-s.LeaderCh():
		if !v {
			t.Errorf("leader ch: got false")
		}
	case <-time.After(storeWait):
		t.Fatal("no leadership notification")
	}
	if err := s.Barrier(t.Context()); err != nil {
		t.Fatalf("barrier: %v", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if err := s.WaitIndex(ctx, s.AppliedIndex()+1000); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("wait for a future index: got %v", err)
	}
	// WaitIndex wakes up when the index is applied.
	done := make(chan error, 1)
	go func() { done <- s.WaitIndex(waitCtx(t), s.AppliedIndex()+1) }()
	propose(t, s, model.UpsertCell{Cell: cell("c1", 1)})
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("wait index: %v", err)
		}
	case <-time.After(storeWait):
		t.Fatal("wait index did not return")
	}
	// Subscribe through the store.
	sub := s.Subscribe(t.Context(), 10)
	propose(t, s, model.SetCellState{CellID: "c1", State: model.CellDraining})
	wantTypes(t, recv(t, sub), model.EventCellChanged)
}

func TestStoreClosed(t *testing.T) {
	s := memStore(t, nil)
	sub := s.Subscribe(t.Context(), 10)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second close: %v", err)
	}
	if _, err := s.Propose(t.Context(), model.RemoveCell{CellID: "x"}); model.CodeOf(err) != model.CodeUnavailable {
		t.Errorf("propose after close: got %v", err)
	}
	if _, ok := <-sub; ok {
		t.Error("subscription open after close")
	}
	if err := s.WaitIndex(t.Context(), 1<<40); !errors.Is(err, ErrClosed) {
		t.Errorf("wait index after close: %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	valid := DefaultConfig()
	valid.NodeID = "n1"
	valid.DataDir = "/tmp/x"
	if err := valid.Validate(); err != nil {
		t.Fatalf("valid config: %v", err)
	}
	cases := []struct {
		field  string
		mutate func(*Config)
	}{
		{"NodeID", func(c *Config) { c.NodeID = "" }},
		{"DataDir", func(c *Config) { c.DataDir = "" }},
		{"BindAddr", func(c *Config) { c.BindAddr = "" }},
		{"HeartbeatTimeout", func(c *Config) { c.HeartbeatTimeout = 0 }},
		{"ElectionTimeout", func(c *Config) { c.ElectionTimeout = 0 }},
		{"LeaderLeaseTimeout", func(c *Config) { c.LeaderLeaseTimeout = time.Hour }},
		{"CommitTimeout", func(c *Config) { c.CommitTimeout = 0 }},
		{"SnapshotThreshold", func(c *Config) { c.SnapshotThreshold = 0 }},
		{"SnapshotInterval", func(c *Config) { c.SnapshotInterval = 0 }},
		{"SnapshotRetain", func(c *Config) { c.SnapshotRetain = 0 }},
		{"MaxBatch", func(c *Config) { c.MaxBatch = 0 }},
		{"MaxBatchBytes", func(c *Config) { c.MaxBatchBytes = 0 }},
		{"ApplyTimeout", func(c *Config) { c.ApplyTimeout = 0 }},
		{"RaftLogLevel", func(c *Config) { c.RaftLogLevel = "loud" }},
	}
	for _, tc := range cases {
		t.Run(tc.field, func(t *testing.T) {
			c := valid
			tc.mutate(&c)
			before := c
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.field) {
				t.Errorf("got %v, want an error naming %s", err, tc.field)
			}
			if !reflect.DeepEqual(before, c) {
				t.Error("Validate changed the config")
			}
		})
	}
	mem := valid
	mem.DataDir, mem.InMemory = "", true
	if err := mem.Validate(); err != nil {
		t.Errorf("in-memory config without DataDir: %v", err)
	}
}
