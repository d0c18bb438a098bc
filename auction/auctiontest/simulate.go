package auctiontest

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/diegod/diegod/auction"
	"github.com/diegod/diegod/model"
)

// DefaultRootFSProviders are the providers NewCells gives every cell.
var DefaultRootFSProviders = []string{model.DefaultRootFS, "docker", "preloaded:cflinuxfs4"}

// NewCells returns n ALIVE cells named cell-0000, cell-0001, ... with the
// given capacity, spread round-robin over zones (one zone "z1" if none).
func NewCells(n int, zones []string, capacity model.Resources) []auction.CellView {
	if len(zones) == 0 {
		zones = []string{"z1"}
	}
	cells := make([]auction.CellView, n)
	for i := range cells {
		cells[i] = auction.CellView{
			Cell: model.Cell{
				CellID:          fmt.Sprintf("cell-%04d", i),
				Zone:            zones[i%len(zones)],
				Capacity:        capacity,
				RootFSProviders: DefaultRootFSProviders,
				State:           model.CellAlive,
			},
			Instances: map[string]int{},
		}
	}
	return cells
}

// Preload records n running instances of guid, each reserving res, on c.
func Preload(c *auction.CellView, guid string, n int, res model.Resources) {
	if c.Instances == nil {
		c.Instances = map[string]int{}
	}
	c.Instances[guid] += n
	c.Allocated.MemoryMB += n * res.MemoryMB
	c.Allocated.DiskMB += n * res.DiskMB
	c.Allocated.Containers += n
}

// LRPWork returns the work for indices 0..instances-1 of guid on the host
// rootfs.
func LRPWork(guid string, instances int, res model.Resources) []auction.Work {
	work := make([]auction.Work, instances)
	for i := range work {
		work[i] = auction.Work{
			Key:       model.ActualLRPKey{ProcessGUID: guid, Index: i, Domain: "default"},
			Resources: model.Resources{MemoryMB: res.MemoryMB, DiskMB: res.DiskMB, Containers: 1},
			RootFS:    model.DefaultRootFS,
		}
	}
	return work
}

// Report describes one simulated auction, as Diego's simulation report.
type Report struct {
	Plan     auction.Plan
	Duration time.Duration
	Placed   int
	Failed   int
	// PerCell counts the new placements per cell id (every cell given,
	// zero included).
	PerCell map[string]int
	// PerZone counts the new placements per zone.
	PerZone map[string]int
	// Load is the number of instances on each cell after the auction
	// (existing CLAIMED/RUNNING plus new).
	Load map[string]int
	// PerProcessZone counts new placements per process guid and zone.
	PerProcessZone map[string]map[string]int
	// FailuresByReason counts failures per placement error text.
	FailuresByReason map[string]int
	// FailuresByCode counts failures per code.
	FailuresByCode map[auction.FailureCode]int
}

// Simulate runs auction.Place with Diego's default options and the seed,
// and reports the distribution, the failures and the time it took.
func Simulate(cells []auction.CellView, work []auction.Work, seed int64) Report {
	opts := auction.DefaultOptions()
	opts.Seed = seed
	return SimulateWith(cells, work, opts)
}

// SimulateWith is Simulate with explicit options.
func SimulateWith(cells []auction.CellView, work []auction.Work, opts auction.Options) Report {
	start := time.Now()
	plan := auction.Place(cells, work, opts)
	r := Report{
		Plan:             plan,
		Duration:         time.Since(start),
		Placed:           len(plan.Placements),
		Failed:           len(plan.Failures),
		PerCell:          map[string]int{},
		PerZone:          map[string]int{},
		Load:             map[string]int{},
		PerProcessZone:   map[string]map[string]int{},
		FailuresByReason: map[string]int{},
		FailuresByCode:   map[auction.FailureCode]int{},
	}
	zoneOf := map[string]string{}
	for i := range cells {
		c := &cells[i]
		zoneOf[c.CellID] = c.Zone
		r.PerCell[c.CellID] += 0
		for _, n := range c.Instances {
			r.Load[c.CellID] += n
		}
	}
	for _, p := range plan.Placements {
		z := zoneOf[p.CellID]
		r.PerCell[p.CellID]++
		r.PerZone[z]++
		r.Load[p.CellID]++
		guid := p.Key.ProcessGUID
		if p.TaskGUID != "" {
			guid = "task"
		}
		if r.PerProcessZone[guid] == nil {
			r.PerProcessZone[guid] = map[string]int{}
		}
		r.PerProcessZone[guid][z]++
	}
	for _, f := range plan.Failures {
		r.FailuresByReason[f.Failure.Detail]++
		r.FailuresByCode[f.Failure.Code]++
	}
	return r
}

// Spread returns the least and the most new placements over the given cell
// ids (all cells when ids is empty).
func (r Report) Spread(ids ...string) (lo, hi int) {
	return spread(r.PerCell, ids)
}

// LoadSpread returns the least and the most instances per cell after the
// auction over the given cell ids (all cells when ids is empty).
func (r Report) LoadSpread(ids ...string) (lo, hi int) {
	return spread(r.Load, ids)
}

func spread(m map[string]int, ids []string) (lo, hi int) {
	if len(ids) == 0 {
		for id := range m {
			ids = append(ids, id)
		}
	}
	for i, id := range ids {
		n := m[id]
		if i == 0 || n < lo {
			lo = n
		}
		if i == 0 || n > hi {
			hi = n
		}
	}
	return lo, hi
}

// String summarises the report in a few lines.
func (r Report) String() string {
	var b strings.Builder
	lo, hi := r.Spread()
	fmt.Fprintf(&b, "placed %d, failed %d in %v; new per cell %d..%d\n", r.Placed, r.Failed, r.Duration, lo, hi)
	zones := make([]string, 0, len(r.PerZone))
	for z := range r.PerZone {
		zones = append(zones, z)
	}
	sort.Strings(zones)
	for _, z := range zones {
		fmt.Fprintf(&b, "  zone %s: %d\n", z, r.PerZone[z])
	}
	reasons := make([]string, 0, len(r.FailuresByReason))
	for reason := range r.FailuresByReason {
		reasons = append(reasons, reason)
	}
	sort.Strings(reasons)
	for _, reason := range reasons {
		fmt.Fprintf(&b, "  failed %d: %s\n", r.FailuresByReason[reason], reason)
	}
	return b.String()
}
