package auction_test

import (
	"fmt"
	"testing"

	"github.com/diegod/diegod/auction"
	"github.com/diegod/diegod/auction/auctiontest"
	"github.com/diegod/diegod/model"
)

// Diego's simulation setup (spec §5.6): cells of 100 MB memory, 100 MB disk
// and 100 containers; instances of 1 MB memory and 1 MB disk.
var (
	simCapacity = model.Resources{MemoryMB: 100, DiskMB: 100, Containers: 100}
	oneMB       = model.Resources{MemoryMB: 1, DiskMB: 1}
)

// uniqueApps returns n single-instance apps named prefix-0..n-1.
func uniqueApps(prefix string, n int, res model.Resources) []auction.Work {
	var work []auction.Work
	for i := 0; i < n; i++ {
		work = append(work, auctiontest.LRPWork(fmt.Sprintf("%s-%d", prefix, i), 1, res)...)
	}
	return work
}

func ids(cells []auction.CellView) []string {
	out := make([]string, len(cells))
	for i := range cells {
		out[i] = cells[i].CellID
	}
	return out
}

// TestImbalanced is Diego's "imbalanced scenario (a deploy)": most cells
// carry 50 instances of other apps, a few are empty, then single-instance
// apps arrive.
func TestImbalanced(t *testing.T) {
	tests := []struct {
		name            string
		preloaded, apps int
		startingWeight  float64
		// Expected new instances: on each preloaded cell, on each empty one.
		preLo, preHi, emptyLo, emptyHi int
		// Expected instances per cell afterwards.
		loadLo, loadHi int
	}{
		// The starting-container weight (0.25 per start ≈ 25 % of a cell)
		// spreads a burst over every cell: the preloaded cells share the
		// work within ±1 and the empty ones take exactly 2 more (0.26 per
		// placement against a 0.50 load gap).
		{"95 of 100 preloaded, 500 new", 95, 500, 0.25, 4, 5, 6, 6, 6, 55},
		{"99 of 100 preloaded, 100 new", 99, 100, 0.25, 0, 1, 2, 2, 2, 51},
		// Without it the score is pure load: the empty cells fill up to the
		// others and the end state is even within ±1.
		{"95 of 100 preloaded, 500 new, weight 0", 95, 500, 0, 2, 3, 52, 53, 52, 53},
		{"99 of 100 preloaded, 100 new, weight 0", 99, 100, 0, 0, 1, 50, 50, 50, 51},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cells := auctiontest.NewCells(100, []string{"z1", "z2"}, simCapacity)
			for i := 0; i < tt.preloaded; i++ {
				for j := 0; j < 50; j++ {
					auctiontest.Preload(&cells[i], fmt.Sprintf("old-%d-%d", i, j), 1, oneMB)
				}
			}
			opts := auction.DefaultOptions()
			opts.StartingContainerWeight = tt.startingWeight
			opts.Seed = 7
			r := auctiontest.SimulateWith(cells, uniqueApps("new", tt.apps, oneMB), opts)
			if r.Failed != 0 || r.Placed != tt.apps {
				t.Fatalf("placed %d failed %d, want %d placed: %v", r.Placed, r.Failed, tt.apps, r.FailuresByReason)
			}
			if lo, hi := r.Spread(ids(cells[:tt.preloaded])...); lo != tt.preLo || hi != tt.preHi {
				t.Errorf("new per preloaded cell %d..%d, want %d..%d", lo, hi, tt.preLo, tt.preHi)
			}
			if lo, hi := r.Spread(ids(cells[tt.preloaded:])...); lo != tt.emptyLo || hi != tt.emptyHi {
				t.Errorf("new per empty cell %d..%d, want %d..%d", lo, hi, tt.emptyLo, tt.emptyHi)
			}
			if lo, hi := r.LoadSpread(); lo != tt.loadLo || hi != tt.loadHi {
				t.Errorf("load per cell %d..%d, want %d..%d", lo, hi, tt.loadLo, tt.loadHi)
			}
		})
	}
}

// TestZoneHalves: a lone, heavily loaded cell in z1 still gets exactly half
// of a new app's instances, because zone spreading comes before score.
func TestZoneHalves(t *testing.T) {
	for _, n := range []int{2, 10, 40} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			cells := auctiontest.NewCells(10, []string{"z2"}, simCapacity)
			cells[0].Zone = "z1"
			for j := 0; j < 50; j++ {
				auctiontest.Preload(&cells[0], fmt.Sprintf("old-%d", j), 1, oneMB)
			}
			r := auctiontest.Simulate(cells, auctiontest.LRPWork("red", n, oneMB), 3)
			if r.Failed != 0 {
				t.Fatalf("failed %d: %v", r.Failed, r.FailuresByReason)
			}
			if got, want := r.PerZone["z1"], n/2; got != want {
				t.Errorf("z1 got %d instances, want %d", got, want)
			}
			if got, want := r.PerZone["z2"], n/2; got != want {
				t.Errorf("z2 got %d instances, want %d", got, want)
			}
			// Inside z2 the locality term spreads one per cell first.
			lo, hi := r.Spread(ids(cells[1:])...)
			if hi-lo > 1 {
				t.Errorf("z2 cells got %d..%d instances, want within 1", lo, hi)
			}
		})
	}
}

// TestZoneSpreadWithExisting: zones are sorted by the app's instances, so
// new instances go to the zone with fewer until the zones are level.
func TestZoneSpreadWithExisting(t *testing.T) {
	cells := auctiontest.NewCells(6, []string{"z1", "z2", "z3"}, simCapacity)
	// z1 already has 4 instances of red, z2 has 1, z3 none.
	auctiontest.Preload(&cells[0], "red", 2, oneMB)
	auctiontest.Preload(&cells[3], "red", 2, oneMB)
	auctiontest.Preload(&cells[1], "red", 1, oneMB)
	work := auctiontest.LRPWork("red", 12, oneMB)[5:] // indices 5..11: 7 new
	r := auctiontest.Simulate(cells, work, 1)
	// After: 4+7+1 = 12 → 4 per zone: z1 +0, z2 +3, z3 +4.
	want := map[string]int{"z2": 3, "z3": 4}
	for z, n := range want {
		if got := r.PerZone[z]; got != n {
			t.Errorf("zone %s got %d, want %d (all: %v)", z, got, n, r.PerZone)
		}
	}
	if got := r.PerZone["z1"]; got != 0 {
		t.Errorf("zone z1 got %d, want 0", got)
	}
}

// TestLocalitySpread: one instance per cell before any cell gets a second.
func TestLocalitySpread(t *testing.T) {
	cells := auctiontest.NewCells(10, []string{"z1", "z2"}, simCapacity)
	r := auctiontest.Simulate(cells, auctiontest.LRPWork("red", 25, oneMB), 11)
	lo, hi := r.Spread()
	if lo != 2 || hi != 3 {
		t.Errorf("per cell %d..%d, want 2..3", lo, hi)
	}
}

// TestPlacementTags checks R ⊆ D ⊆ R∪O (spec §5.4) and the error texts.
func TestPlacementTags(t *testing.T) {
	cells := auctiontest.NewCells(4, nil, simCapacity)
	cells[0].CellID = "plain"
	cells[1].CellID, cells[1].PlacementTags = "gpu", []string{"gpu"}
	cells[2].CellID, cells[2].PlacementTags, cells[2].OptionalPlacementTags = "gpu-ssd", []string{"gpu"}, []string{"ssd"}
	cells[3].CellID, cells[3].OptionalPlacementTags = "opt-ssd", []string{"ssd"}
	tests := []struct {
		tags    []string
		allowed []string // cells it may land on; empty = must fail
		detail  string
	}{
		{nil, []string{"plain", "opt-ssd"}, ""},
		{[]string{"gpu"}, []string{"gpu", "gpu-ssd"}, ""},
		{[]string{"gpu", "ssd"}, []string{"gpu-ssd"}, ""},
		{[]string{"ssd"}, []string{"opt-ssd"}, ""},
		{[]string{"x"}, nil, `found no compatible cell with placement tag "x"`},
		{[]string{"gpu", "x"}, nil, `found no compatible cell with placement tags "gpu" and "x"`},
		{[]string{"c", "a", "b"}, nil, `found no compatible cell with placement tags "a", "b" and "c"`},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.tags), func(t *testing.T) {
			for seed := int64(0); seed < 20; seed++ {
				w := auctiontest.LRPWork("app", 1, oneMB)
				w[0].PlacementTags = tt.tags
				plan := auction.Place(cells, w, auction.Options{Seed: seed, LocalityOffset: 1000, StartingContainerWeight: 0.25})
				if len(tt.allowed) == 0 {
					if len(plan.Failures) != 1 {
						t.Fatalf("placed %v, want a failure", plan.Placements)
					}
					f := plan.Failures[0].Failure
					if f.Detail != tt.detail || f.Code != auction.FailurePlacementTags {
						t.Fatalf("failure %+v, want %q", f, tt.detail)
					}
					continue
				}
				if len(plan.Placements) != 1 {
					t.Fatalf("failures %v, want a placement", plan.Failures)
				}
				got := plan.Placements[0].CellID
				ok := false
				for _, a := range tt.allowed {
					ok = ok || got == a
				}
				if !ok {
					t.Fatalf("seed %d: placed on %s, want one of %v", seed, got, tt.allowed)
				}
			}
		})
	}
}

// TestInsufficientResources lists only the problems every candidate shares.
func TestInsufficientResources(t *testing.T) {
	type cellSpec struct{ mem, disk, containers int } // available
	tests := []struct {
		name  string
		cells []cellSpec
		want  string
	}{
		{"memory on every cell", []cellSpec{{10, 100, 5}, {20, 100, 5}}, "insufficient resources: memory"},
		{"memory here, disk there", []cellSpec{{10, 100, 5}, {100, 10, 5}}, "insufficient resources"},
		{"memory+disk and memory", []cellSpec{{10, 10, 5}, {10, 100, 5}}, "insufficient resources: memory"},
		{"everything everywhere", []cellSpec{{0, 0, 0}, {1, 1, 0}}, "insufficient resources: containers, disk, memory"},
		{"containers and disk", []cellSpec{{100, 10, 0}, {100, 0, 0}}, "insufficient resources: containers, disk"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cells := auctiontest.NewCells(len(tt.cells), []string{"z1", "z2"}, simCapacity)
			for i, cs := range tt.cells {
				cells[i].Allocated = simCapacity.Sub(model.Resources{MemoryMB: cs.mem, DiskMB: cs.disk, Containers: cs.containers})
			}
			w := auctiontest.LRPWork("big", 1, model.Resources{MemoryMB: 50, DiskMB: 50})
			plan := auction.Place(cells, w, auction.DefaultOptions())
			if len(plan.Failures) != 1 {
				t.Fatalf("placements %v, want one failure", plan.Placements)
			}
			if f := plan.Failures[0].Failure; f.Detail != tt.want || f.Code != auction.FailureInsufficientResources {
				t.Errorf("failure %+v, want %q", f, tt.want)
			}
		})
	}
}

// TestLowMemory is Diego's low-memory scenario: one cell, 80 single-instance
// 1 MB apps and a 2-instance 50 MB app → 51 win, 31 fail, red-0 wins (index
// 0 and big first), red-1 loses.
func TestLowMemory(t *testing.T) {
	cells := auctiontest.NewCells(1, nil, simCapacity)
	work := uniqueApps("small", 80, oneMB)
	work = append(work, auctiontest.LRPWork("red", 2, model.Resources{MemoryMB: 50, DiskMB: 1})...)
	r := auctiontest.Simulate(cells, work, 5)
	if r.Placed != 51 || r.Failed != 31 {
		t.Fatalf("placed %d failed %d, want 51 and 31", r.Placed, r.Failed)
	}
	placed := map[string]bool{}
	for _, p := range r.Plan.Placements {
		placed[p.Key.ProcessGUID+"/"+fmt.Sprint(p.Key.Index)] = true
	}
	if !placed["red/0"] || placed["red/1"] {
		t.Errorf("red/0 placed %v, red/1 placed %v; want true, false", placed["red/0"], placed["red/1"])
	}
	if got, want := r.FailuresByReason["insufficient resources: memory"], 31; got != want {
		t.Errorf("memory failures %d, want %d (all: %v)", got, want, r.FailuresByReason)
	}
}

// TestNoCells: no schedulable cell at all.
func TestNoCells(t *testing.T) {
	draining := auctiontest.NewCells(3, nil, simCapacity)
	draining[0].State = model.CellDraining
	draining[1].State = model.CellLost
	draining[2].State = model.CellDraining
	for name, cells := range map[string][]auction.CellView{"none": nil, "none alive": draining} {
		t.Run(name, func(t *testing.T) {
			plan := auction.Place(cells, auctiontest.LRPWork("red", 3, oneMB), auction.DefaultOptions())
			if len(plan.Placements) != 0 || len(plan.Failures) != 3 {
				t.Fatalf("plan %+v, want 3 failures", plan)
			}
			for _, f := range plan.Failures {
				if f.Failure.Detail != "unable to communicate to compatible cells" || f.Failure.Code != auction.FailureNoCells {
					t.Errorf("failure %+v", f.Failure)
				}
			}
		})
	}
}

// TestRootFSMismatch: the rootfs error, and the tag error when the rootfs
// matches but the tags do not (the more specific wins).
func TestRootFSMismatch(t *testing.T) {
	cells := auctiontest.NewCells(3, []string{"z1", "z2"}, simCapacity)
	for i := range cells {
		cells[i].RootFSProviders = []string{"host"}
	}
	cells[2].RootFSProviders = []string{"docker"}
	cells[2].PlacementTags = []string{"special"}
	tests := []struct {
		rootfs string
		tags   []string
		code   auction.FailureCode
		detail string
	}{
		{"preloaded:cflinuxfs4", nil, auction.FailureRootFS, "found no compatible cell for required rootfs"},
		{"docker://nginx", nil, auction.FailurePlacementTags, "found no compatible cell with no placement tags"},
		{"docker://nginx", []string{"other"}, auction.FailurePlacementTags, `found no compatible cell with placement tag "other"`},
		{"docker://nginx", []string{"special"}, "", ""},
		{"host", nil, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.rootfs+fmt.Sprint(tt.tags), func(t *testing.T) {
			w := auctiontest.LRPWork("app", 1, oneMB)
			w[0].RootFS, w[0].PlacementTags = tt.rootfs, tt.tags
			plan := auction.Place(cells, w, auction.DefaultOptions())
			if tt.code == "" {
				if len(plan.Placements) != 1 {
					t.Fatalf("failures %+v, want a placement", plan.Failures)
				}
				return
			}
			if len(plan.Failures) != 1 {
				t.Fatalf("placements %+v, want a failure", plan.Placements)
			}
			if f := plan.Failures[0].Failure; f.Code != tt.code || f.Detail != tt.detail {
				t.Errorf("failure %+v, want %s %q", f, tt.code, tt.detail)
			}
		})
	}
}

// TestIndexZeroFirst: with room for three, every app's index 0 wins over
// any index 1, and bigger apps go first among index-0s.
func TestIndexZeroFirst(t *testing.T) {
	cells := auctiontest.NewCells(1, nil, model.Resources{MemoryMB: 1000, DiskMB: 1000, Containers: 3})
	var work []auction.Work
	work = append(work, auctiontest.LRPWork("a", 3, model.Resources{MemoryMB: 10, DiskMB: 1})...)
	work = append(work, auctiontest.LRPWork("b", 3, model.Resources{MemoryMB: 500, DiskMB: 1})...)
	work = append(work, auctiontest.LRPWork("c", 1, model.Resources{MemoryMB: 1, DiskMB: 1})...)
	work = append(work, auctiontest.LRPWork("d", 2, model.Resources{MemoryMB: 5, DiskMB: 1})...)
	plan := auction.Place(cells, work, auction.DefaultOptions())
	var got []string
	for _, p := range plan.Placements {
		got = append(got, p.Key.String())
	}
	want := []string{"b/0", "a/0", "d/0"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("placed %v, want %v", got, want)
	}
	var failed []string
	for _, f := range plan.Failures {
		failed = append(failed, f.Work.Key.String())
	}
	if want := []string{"c/0", "b/1", "a/1", "d/1", "b/2", "a/2"}; fmt.Sprint(failed) != fmt.Sprint(want) {
		t.Errorf("failed %v, want %v", failed, want)
	}
}

// TestMaxInFlight: starting containers across cells, plus the batch's own,
// are capped when MaxInFlight is set.
func TestMaxInFlight(t *testing.T) {
	cells := auctiontest.NewCells(3, nil, simCapacity)
	cells[0].Starting = 2
	opts := auction.DefaultOptions()
	opts.MaxInFlight = 5
	plan := auction.Place(cells, uniqueApps("x", 6, oneMB), opts)
	if len(plan.Placements) != 3 || len(plan.Failures) != 3 {
		t.Fatalf("placed %d failed %d, want 3 and 3", len(plan.Placements), len(plan.Failures))
	}
	for _, f := range plan.Failures {
		if f.Failure.Detail != "waiting to start instance: reached in-flight start limit" {
			t.Errorf("failure %q", f.Failure.Detail)
		}
	}
}

// TestBinPackFirstFit: a bin-pack weight fills low cell indices first.
func TestBinPackFirstFit(t *testing.T) {
	cells := auctiontest.NewCells(4, nil, simCapacity)
	opts := auction.Options{BinPackFirstFitWeight: 10, LocalityOffset: 1000}
	r := auctiontest.SimulateWith(cells, uniqueApps("x", 50, oneMB), opts)
	if got := r.PerCell["cell-0000"]; got != 50 {
		t.Errorf("cell-0000 got %d, want all 50 (%v)", got, r.PerCell)
	}
}

// TestTasksSpreadByCount: tasks ignore zones and spread by task count.
func TestTasksSpreadByCount(t *testing.T) {
	cells := auctiontest.NewCells(4, []string{"z1", "z2"}, simCapacity)
	cells[0].Tasks = 2
	var work []auction.Work
	for i := 0; i < 6; i++ {
		work = append(work, auction.Work{TaskGUID: fmt.Sprintf("t%d", i), Resources: oneMB, RootFS: "host"})
	}
	r := auctiontest.Simulate(cells, work, 2)
	want := map[string]int{"cell-0000": 0, "cell-0001": 2, "cell-0002": 2, "cell-0003": 2}
	for id, n := range want {
		if r.PerCell[id] != n {
			t.Errorf("%s got %d tasks, want %d (%v)", id, r.PerCell[id], n, r.PerCell)
		}
	}
}

// TestLargeColdStart is Diego's 8 200 instances on 100 cells: everything
// fits and lands evenly (Diego took ≈ 11 s here; counters make it ms).
func TestLargeColdStart(t *testing.T) {
	cells := auctiontest.NewCells(100, []string{"z1", "z2"}, simCapacity)
	colors := []string{"purple", "red", "orange", "teal", "gray", "blue", "pink", "green", "lime", "cyan", "lightseagreen", "brown"}
	var work []auction.Work
	add := func(prefix string, n, mem int, shared []string) {
		work = append(work, uniqueApps(prefix, n/2, model.Resources{MemoryMB: mem, DiskMB: 1})...)
		per := n / 2 / len(shared)
		for _, c := range shared {
			work = append(work, auctiontest.LRPWork(fmt.Sprintf("%s-%d", c, mem), per, model.Resources{MemoryMB: mem, DiskMB: 1})...)
		}
	}
	add("u1", 7200, 1, colors[:4])
	add("u2", 800, 2, colors[4:8])
	add("u4", 200, 4, colors[8:])
	r := auctiontest.Simulate(cells, work, 42)
	t.Logf("%s", r)
	if r.Failed != 0 {
		t.Fatalf("failed %d: %v", r.Failed, r.FailuresByReason)
	}
	// Mixed sizes and the locality of the shared apps (9 of each colour per
	// cell) leave memory per cell within 10 % and counts within 3.
	mem := map[model.ActualLRPKey]int{}
	for _, w := range work {
		mem[w.Key] = w.Resources.MemoryMB
	}
	used := map[string]int{}
	for _, p := range r.Plan.Placements {
		used[p.CellID] += mem[p.Key]
	}
	lo, hi := 1<<30, 0
	for _, c := range cells {
		lo, hi = min(lo, used[c.CellID]), max(hi, used[c.CellID])
	}
	if hi-lo > 10 {
		t.Errorf("memory per cell %d..%d MB, want within 10", lo, hi)
	}
	if lo, hi := r.Spread(); hi-lo > 3 {
		t.Errorf("instances per cell %d..%d, want within 3", lo, hi)
	}
	if d := r.PerZone["z1"] - r.PerZone["z2"]; d < -10 || d > 10 {
		t.Errorf("zones %v, want within 10", r.PerZone)
	}
}
