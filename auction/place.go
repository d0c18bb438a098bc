package auction

import (
	"math/rand/v2"
	"sort"

	"github.com/diegod/diegod/model"
)

// Place decides where each work item goes, as Diego's auction scheduler does
// (spec §5), in one pass over cells that it keeps up to date as it reserves:
//
//	order  : index-0 LRPs, then tasks, then LRPs with index > 0; LRPs by index
//	         ascending then memory descending, tasks by memory descending
//	filter : schedulable (ALIVE) cells that support the rootfs and match the
//	         placement tags (filter.go)
//	score  : resources + starting containers + locality (+ bin-pack index),
//	         zone by zone for LRPs (score.go)
//	reserve: the winner's resources, counters and zone counts are updated
//	         before the next item is considered
//
// Place is pure: it reads no clock, does no I/O, does not modify its inputs,
// and gives the same Plan for the same input and opts.Seed, whatever the
// order of cells and work (ties are broken by a PRNG seeded with opts.Seed).
// Items with the same Identifier are considered once. The cost is
// O(items × compatible cells) with per-cell, per-zone and per-process
// counters; it never rescans the instances on a cell.
func Place(cells []CellView, work []Work, opts Options) Plan {
	items := orderWork(work)
	var plan Plan
	if len(items) == 0 {
		return plan
	}
	p := newPlacer(cells, items, opts)
	if len(p.cells) == 0 {
		for _, w := range items {
			plan.Failures = append(plan.Failures, PlanFailure{Work: w, Failure: Failure{Code: FailureNoCells, Detail: MsgNoCells}})
		}
		return plan
	}
	plan.Placements = make([]Placement, 0, len(items))
	for i := range items {
		w := &items[i]
		if opts.MaxInFlight > 0 && p.inFlight >= opts.MaxInFlight {
			plan.Failures = append(plan.Failures, PlanFailure{Work: *w, Failure: Failure{Code: FailureInFlightLimit, Detail: MsgInFlightLimit}})
			continue
		}
		winner, fail := p.placeOne(w)
		if winner < 0 {
			plan.Failures = append(plan.Failures, PlanFailure{Work: *w, Failure: fail})
			continue
		}
		plan.Placements = append(plan.Placements, Placement{Key: w.Key, TaskGUID: w.TaskGUID, CellID: p.cells[winner].id})
	}
	return plan
}

// orderWork returns the distinct items of work in Diego's auction order
// (spec §5.1), with deterministic tie breaks (process guid, task guid).
func orderWork(work []Work) []Work {
	seen := make(map[string]struct{}, len(work))
	lrps := make([]Work, 0, len(work))
	var tasks []Work
	for _, w := range work {
		id := w.Identifier()
		if w.IsTask() {
			id = "task:" + id
		}
		if _, dup := seen[id]; dup {
			continue
		}
		seen[id] = struct{}{}
		if w.IsTask() {
			tasks = append(tasks, w)
		} else {
			lrps = append(lrps, w)
		}
	}
	sort.Slice(lrps, func(i, j int) bool {
		a, b := &lrps[i], &lrps[j]
		if a.Key.Index != b.Key.Index {
			return a.Key.Index < b.Key.Index
		}
		if a.Resources.MemoryMB != b.Resources.MemoryMB {
			return a.Resources.MemoryMB > b.Resources.MemoryMB
		}
		return a.Key.ProcessGUID < b.Key.ProcessGUID
	})
	sort.Slice(tasks, func(i, j int) bool {
		a, b := &tasks[i], &tasks[j]
		if a.Resources.MemoryMB != b.Resources.MemoryMB {
			return a.Resources.MemoryMB > b.Resources.MemoryMB
		}
		return a.TaskGUID < b.TaskGUID
	})
	split := sort.Search(len(lrps), func(i int) bool { return lrps[i].Key.Index > 0 })
	out := make([]Work, 0, len(lrps)+len(tasks))
	out = append(out, lrps[:split]...)
	out = append(out, tasks...)
	return append(out, lrps[split:]...)
}

// cellState is the mutable per-cell state of one Place call.
type cellState struct {
	src   *CellView
	id    string
	zone  int32
	avail model.Resources
	// inv* are 1/total capacity (0 when the total is 0, which makes the term
	// count as fully used).
	invMem, invDisk, invCont float64
	starting                 int
	tasks                    int
	// fixed is the part of the score that does not depend on the item:
	// starting × weight + index × bin-pack weight. Updated on reserve.
	fixed float64
}

// procState counts one process's instances per cell and per zone. Processes
// with many instances keep a dense per-cell array; the rest a short list
// that is spread into a scratch array for each item.
type procState struct {
	dense  []int32
	sparse []cellCount
	zones  []int32
}

type cellCount struct {
	cell  int32
	count int32
}

// placer holds the state of one Place call.
type placer struct {
	opts     Options
	cells    []cellState
	zones    []string
	procs    map[string]*procState
	classes  map[string]*class
	scratch  []int32
	order    []zoneCells
	inFlight int
	// scan is the cell order for scanning: shuffled with the seed, so that
	// ties between equal scores fall on a seeded-random cell.
	scan []int32
}

func newPlacer(cells []CellView, items []Work, opts Options) *placer {
	sched := make([]*CellView, 0, len(cells))
	for i := range cells {
		if cells[i].Schedulable() {
			sched = append(sched, &cells[i])
		}
	}
	sort.SliceStable(sched, func(i, j int) bool { return sched[i].CellID < sched[j].CellID })
	p := &placer{
		opts:    opts,
		cells:   make([]cellState, 0, len(sched)),
		procs:   map[string]*procState{},
		classes: map[string]*class{},
		scratch: make([]int32, len(sched)),
	}
	zoneIdx := map[string]int32{}
	for i, cv := range sched {
		if i > 0 && cv.CellID == sched[i-1].CellID {
			continue // a duplicate cell id: the first one wins
		}
		z, ok := zoneIdx[cv.Zone]
		if !ok {
			z = int32(len(p.zones))
			zoneIdx[cv.Zone] = z
			p.zones = append(p.zones, cv.Zone)
		}
		c := cellState{
			src:      cv,
			id:       cv.CellID,
			zone:     z,
			avail:    cv.Available(),
			invMem:   inverse(cv.Capacity.MemoryMB),
			invDisk:  inverse(cv.Capacity.DiskMB),
			invCont:  inverse(cv.Capacity.Containers),
			starting: cv.Starting,
			tasks:    cv.Tasks,
		}
		p.inFlight += cv.Starting
		p.cells = append(p.cells, c)
	}
	for i := range p.cells {
		p.refreshFixed(int32(i))
	}
	rng := rand.New(rand.NewPCG(uint64(opts.Seed), 0x9e3779b97f4a7c15))
	p.scan = make([]int32, len(p.cells))
	for i := range p.scan {
		p.scan[i] = int32(i)
	}
	rng.Shuffle(len(p.scan), func(i, j int) { p.scan[i], p.scan[j] = p.scan[j], p.scan[i] })
	p.initProcs(items)
	return p
}

func inverse(total int) float64 {
	if total <= 0 {
		return 0
	}
	return 1 / float64(total)
}

// initProcs builds the per-process counters for the processes in items from
// the cells' Instances maps. Map iteration order does not matter: only sums
// and per-cell values are stored.
func (p *placer) initProcs(items []Work) {
	planned := map[string]int{}
	for i := range items {
		if !items[i].IsTask() {
			planned[items[i].Key.ProcessGUID]++
		}
	}
	if len(planned) == 0 {
		return
	}
	existing := map[string][]cellCount{}
	for ci := range p.cells {
		for guid, n := range p.cells[ci].src.Instances {
			if _, ok := planned[guid]; ok && n > 0 {
				existing[guid] = append(existing[guid], cellCount{cell: int32(ci), count: int32(n)})
			}
		}
	}
	denseAt := len(p.cells) / 8
	if denseAt < 16 {
		denseAt = 16
	}
	for guid, n := range planned {
		ps := &procState{zones: make([]int32, len(p.zones))}
		ex := existing[guid]
		if n+len(ex) >= denseAt {
			ps.dense = make([]int32, len(p.cells))
			for _, cc := range ex {
				ps.dense[cc.cell] = cc.count
			}
		} else {
			ps.sparse = ex
		}
		for _, cc := range ex {
			ps.zones[p.cells[cc.cell].zone] += cc.count
		}
		p.procs[guid] = ps
	}
}

// counts returns the per-cell instance counts of ps; release must be called
// with the result when the item is done.
func (p *placer) counts(ps *procState) []int32 {
	if ps.dense != nil {
		return ps.dense
	}
	for _, cc := range ps.sparse {
		p.scratch[cc.cell] = cc.count
	}
	return p.scratch
}

func (p *placer) release(ps *procState) {
	if ps.dense != nil {
		return
	}
	for _, cc := range ps.sparse {
		p.scratch[cc.cell] = 0
	}
}

// placeOne places one item, reserving on the winner, and returns the winning
// cell or -1 and the failure.
func (p *placer) placeOne(w *Work) (int32, Failure) {
	cl := p.classFor(w)
	if cl.fail != nil {
		return -1, *cl.fail
	}
	req := w.Resources
	var winner int32
	var problems problemSet
	if w.IsTask() {
		winner, problems = p.scoreTask(cl, req)
	} else {
		ps := p.procs[w.Key.ProcessGUID]
		counts := p.counts(ps)
		winner, problems = p.scoreLRP(cl, ps, counts, req)
		p.release(ps)
		if winner >= 0 {
			p.reserveLRP(ps, winner)
		}
	}
	if winner < 0 {
		return -1, Failure{Code: FailureInsufficientResources, Detail: problems.String()}
	}
	p.reserve(winner, req, w.IsTask())
	return winner, Failure{}
}
