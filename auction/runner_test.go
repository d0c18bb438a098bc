package auction_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/diegod/diegod/auction"
	"github.com/diegod/diegod/auction/auctiontest"
	"github.com/diegod/diegod/model"
)

// waitFor polls cond until it holds or timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		<-tick.C
	}
}

type countingRecorder struct {
	mu       sync.Mutex
	auctions int
	passes   int
	failed   map[string]int
}

func (r *countingRecorder) AuctionDone(auction.AuctionStats) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.auctions++
}

func (r *countingRecorder) ConvergeDone(auction.ConvergeRunStats) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.passes++
}

func (r *countingRecorder) ProposalFailed(cmd string, _ model.Code) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.failed == nil {
		r.failed = map[string]int{}
	}
	r.failed[cmd]++
}

func (r *countingRecorder) failures(cmd string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.failed[cmd]
}

func (r *countingRecorder) counts() (auctions, passes int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.auctions, r.passes
}

type harness struct {
	src  *auctiontest.FakeSource
	prop *auctiontest.FakeProposer
	rec  *countingRecorder
}

// startRunner runs a Runner on a fake store holding snap until the test
// ends. Convergence runs at start and on events only, unless cfg says more.
func startRunner(t *testing.T, snap auction.Snapshot, tune func(c *auction.Config)) *harness {
	t.Helper()
	h := &harness{src: auctiontest.NewFakeSource(snap), rec: &countingRecorder{}}
	h.prop = &auctiontest.FakeProposer{Apply: h.src.ApplyCommand}
	cfg := auction.DefaultConfig()
	cfg.ConvergeInterval = time.Hour
	cfg.StaleUnclaimedDuration = time.Hour
	cfg.ConvergeMinGap = time.Millisecond
	cfg.RetryDelay = 10 * time.Millisecond
	cfg.Metrics = h.rec
	if tune != nil {
		tune(&cfg)
	}
	r := auction.NewRunner(h.src, h.prop, cfg, zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.DebugLevel))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run returned %v, want nil", err)
			}
		case <-time.After(5 * time.Second):
			t.Errorf("Run did not return after cancel")
		}
	})
	return h
}

func (h *harness) claimBatches() []model.ClaimBatch {
	return auctiontest.Filter[model.ClaimBatch](h.prop.Commands())
}

// row returns the row of key with presence, if any.
func (h *harness) row(guid string, index int, p model.Presence) (model.ActualLRP, bool) {
	for _, a := range h.src.Snapshot().Actuals {
		if a.ProcessGUID == guid && a.Index == index && a.Presence == p {
			return a, true
		}
	}
	return model.ActualLRP{}, false
}

func (h *harness) claimedOn(guid string, index int, cellID string) func() bool {
	return func() bool {
		a, ok := h.row(guid, index, model.PresenceOrdinary)
		return ok && a.State == model.StateClaimed && a.CellID == cellID
	}
}

func testCell(id string, rootfs ...string) model.Cell {
	if len(rootfs) == 0 {
		rootfs = []string{"host"}
	}
	return model.Cell{CellID: id, Zone: "z1", State: model.CellAlive, RootFSProviders: rootfs,
		Capacity: model.Resources{MemoryMB: 4096, DiskMB: 4096, Containers: 100}}
}

func testDesired(guid string, instances int) model.DesiredLRP {
	d := model.DesiredLRP{ProcessGUID: guid, Instances: instances, MemoryMB: 128, DiskMB: 128}
	d.Normalize()
	return d
}

func unclaimedRow(d model.DesiredLRP, index int) model.ActualLRP {
	return model.ActualLRP{ActualLRPKey: model.ActualLRPKey{ProcessGUID: d.ProcessGUID, Index: index, Domain: d.Domain},
		State: model.StateUnclaimed, Presence: model.PresenceOrdinary, Since: time.Now(), Resources: d.Resources()}
}

func runningRow(d model.DesiredLRP, index int, cellID string) model.ActualLRP {
	a := unclaimedRow(d, index)
	a.State = model.StateRunning
	a.ActualLRPInstanceKey = model.ActualLRPInstanceKey{InstanceGUID: "ig-" + cellID, CellID: cellID}
	a.Address = "10.0.0.1"
	return a
}

func TestRunnerClaimsUnclaimedInOneBatch(t *testing.T) {
	d := testDesired("web", 3)
	h := startRunner(t, auction.Snapshot{
		Index:   41,
		Desired: []model.DesiredLRP{d},
		Actuals: []model.ActualLRP{unclaimedRow(d, 0), unclaimedRow(d, 1), unclaimedRow(d, 2)},
		Cells:   []model.Cell{testCell("c1")},
	}, nil)
	waitFor(t, 5*time.Second, "rows claimed", func() bool {
		return h.claimedOn("web", 0, "c1")() && h.claimedOn("web", 1, "c1")() && h.claimedOn("web", 2, "c1")()
	})
	batches := h.claimBatches()
	if len(batches) != 1 {
		t.Fatalf("got %d ClaimBatches, want 1: %+v", len(batches), batches)
	}
	b := batches[0]
	if b.SnapshotIndex != 41 || len(b.Placements) != 3 || len(b.Failures) != 0 {
		t.Fatalf("batch %+v, want index 41 and 3 placements", b)
	}
	guids := map[string]bool{}
	for _, p := range b.Placements {
		if p.InstanceKey.InstanceGUID == "" || guids[p.InstanceKey.InstanceGUID] || p.InstanceKey.CellID != "c1" {
			t.Errorf("placement %+v: want a fresh instance guid on c1", p)
		}
		guids[p.InstanceKey.InstanceGUID] = true
	}

	// A scale-up arriving later forms the next batch, with only the new row.
	h.src.Update(func(s *auction.Snapshot) []model.Event {
		a := unclaimedRow(d, 3)
		s.Actuals = append(s.Actuals, a)
		return []model.Event{{Type: model.EventActualLRPInstanceCreated, ActualAfter: &a}}
	})
	waitFor(t, 5*time.Second, "new row claimed", h.claimedOn("web", 3, "c1"))
	batches = h.claimBatches()
	if len(batches) != 2 || len(batches[1].Placements) != 1 || batches[1].Placements[0].Key.Index != 3 {
		t.Fatalf("batches %+v, want a second one placing index 3 only", batches)
	}
}

func TestRunnerRetriesFailedPlacementWhenCellAdded(t *testing.T) {
	d := testDesired("img", 1)
	d.RootFS = "docker://nginx"
	h := startRunner(t, auction.Snapshot{
		Desired: []model.DesiredLRP{d},
		Actuals: []model.ActualLRP{unclaimedRow(d, 0)},
		Cells:   []model.Cell{testCell("host-only")},
	}, nil)
	waitFor(t, 5*time.Second, "placement error recorded", func() bool {
		a, _ := h.row("img", 0, model.PresenceOrdinary)
		return a.PlacementError == "found no compatible cell for required rootfs"
	})

	// A cell that can run it joins: the failure is retried at once, not
	// after the stale period (an hour here).
	if err := h.src.ApplyCommand(model.UpsertCell{Cell: testCell("docker-cell", "host", "docker")}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "row claimed on the new cell", h.claimedOn("img", 0, "docker-cell"))
	batches := h.claimBatches()
	if len(batches) != 2 || len(batches[0].Failures) != 1 || len(batches[1].Placements) != 1 {
		t.Fatalf("batches %+v, want a failure then a placement", batches)
	}
}

func TestRunnerConvergesLostCell(t *testing.T) {
	d := testDesired("web", 2)
	h := startRunner(t, auction.Snapshot{
		Desired: []model.DesiredLRP{d},
		Actuals: []model.ActualLRP{runningRow(d, 0, "c1"), runningRow(d, 1, "c2")},
		Cells:   []model.Cell{testCell("c1"), testCell("c2")},
	}, nil)
	waitFor(t, 5*time.Second, "first convergence pass", func() bool { _, p := h.rec.counts(); return p >= 1 })
	if cmds := h.prop.Commands(); len(cmds) != 0 {
		t.Fatalf("healthy state produced %v", cmds)
	}

	if err := h.src.ApplyCommand(model.SetCellState{CellID: "c1", State: model.CellLost}); err != nil {
		t.Fatal(err)
	}
	// The cell event triggers a pass (the interval is an hour): index 0
	// becomes SUSPECT and its replacement is auctioned onto c2.
	waitFor(t, 5*time.Second, "replacement claimed on c2", h.claimedOn("web", 0, "c2"))
	suspects := auctiontest.Filter[model.SuspectActualLRP](h.prop.Commands())
	if len(suspects) != 1 || suspects[0].Key.Index != 0 {
		t.Fatalf("suspect commands %+v, want one for index 0", suspects)
	}
	if s, ok := h.row("web", 0, model.PresenceSuspect); !ok || s.CellID != "c1" {
		t.Errorf("suspect row %+v (found %v), want on c1", s, ok)
	}
}

func TestRunnerRestartsCrashAtNextWake(t *testing.T) {
	d := testDesired("crashy", 1)
	row := unclaimedRow(d, 0)
	row.State, row.CrashCount = model.StateCrashed, 3
	due := time.Now().Add(300 * time.Millisecond)
	row.Since = due.Add(-model.CrashBackoffMinDuration) // 30 s backoff ends at due
	h := startRunner(t, auction.Snapshot{
		Desired: []model.DesiredLRP{d},
		Actuals: []model.ActualLRP{row},
		Cells:   []model.Cell{testCell("c1")},
	}, nil)
	waitFor(t, 5*time.Second, "crashed row unclaimed and placed", h.claimedOn("crashy", 0, "c1"))
	if now := time.Now(); now.Before(due) {
		t.Errorf("restarted at %v, before its backoff ended at %v", now, due)
	}
	unclaims := auctiontest.Filter[model.UnclaimActualLRP](h.prop.Commands())
	if len(unclaims) != 1 || !unclaims[0].InstanceKey.Empty() {
		t.Fatalf("unclaims %+v, want one with an empty instance key", unclaims)
	}
}

func TestRunnerResubscribes(t *testing.T) {
	d := testDesired("web", 1)
	h := startRunner(t, auction.Snapshot{
		Desired: []model.DesiredLRP{d},
		Cells:   []model.Cell{testCell("c1")},
	}, nil)
	waitFor(t, 5*time.Second, "subscription", func() bool { return h.src.Subscriptions() == 1 })
	h.src.CloseSubscriptions()
	waitFor(t, 5*time.Second, "resubscription", func() bool { return h.src.Subscriptions() == 2 })
	h.src.Update(func(s *auction.Snapshot) []model.Event {
		a := unclaimedRow(d, 0)
		s.Actuals = append(s.Actuals, a)
		return []model.Event{{Type: model.EventActualLRPInstanceCreated, ActualAfter: &a}}
	})
	waitFor(t, 5*time.Second, "row claimed after resubscribing", h.claimedOn("web", 0, "c1"))
}

func TestRunnerRetriesAfterProposeError(t *testing.T) {
	d := testDesired("web", 1)
	h := startRunner(t, auction.Snapshot{
		Desired: []model.DesiredLRP{d},
		Actuals: []model.ActualLRP{unclaimedRow(d, 0)},
		Cells:   []model.Cell{testCell("c1")},
	}, nil)
	waitFor(t, 5*time.Second, "first claim", h.claimedOn("web", 0, "c1"))

	// The store stops accepting proposals; new work arrives.
	h.prop.SetErr(model.Errorf(model.CodeUnavailable, "no quorum"))
	d2 := testDesired("api", 1)
	h.src.Update(func(s *auction.Snapshot) []model.Event {
		a := unclaimedRow(d2, 0)
		s.Desired = append(s.Desired, d2)
		s.Actuals = append(s.Actuals, a)
		return []model.Event{{Type: model.EventActualLRPInstanceCreated, ActualAfter: &a}}
	})
	waitFor(t, 5*time.Second, "two failed attempts", func() bool { return h.rec.failures("claim_batch") >= 2 })
	// Once it heals, the retry (no new event needed) places the work.
	h.prop.SetErr(nil)
	waitFor(t, 5*time.Second, "claim after the store healed", h.claimedOn("api", 0, "c1"))
}

func TestRunnerInvalidConfig(t *testing.T) {
	cfg := auction.DefaultConfig()
	cfg.ConvergeInterval = 0
	r := auction.NewRunner(auctiontest.NewFakeSource(auction.Snapshot{}), &auctiontest.FakeProposer{}, cfg, zerolog.Nop())
	if err := r.Run(context.Background()); !errors.Is(err, auction.ErrInvalidConfig) {
		t.Fatalf("Run = %v, want ErrInvalidConfig", err)
	}
}
