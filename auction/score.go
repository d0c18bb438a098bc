package auction

import (
	"math"

	"github.com/diegod/diegod/model"
)

// Scoring (spec §5.3). Lower wins.
//
//	remaining     = available − request (memory, disk, containers − 1)
//	resourceScore = ((1 − rem.mem/total.mem) + (1 − rem.disk/total.disk)
//	                 + (1 − rem.containers/total.containers)) / 3
//	              + starting × StartingContainerWeight
//	LRP score     = resourceScore + LocalityOffset × (instances of the process on the cell)
//	              + cellIndex × BinPackFirstFitWeight
//	Task score    = resourceScore + LocalityOffset × (tasks on the cell)
//
// LRPs are scored zone by zone: zones sorted by the process's instance count
// ascending; zones with equal counts are scored together; the scan stops
// after the first group of zones that produced a winner. A zone's count
// covers its schedulable cells (Diego drops evacuating cells from the
// auction) and zones without a compatible cell are left out. Tasks ignore
// zones.

// resourceScore is Diego's ComputeScore for req on c (without the starting
// container term, which is in c.fixed).
func resourceScore(c *cellState, req model.Resources) float64 {
	usedMem := 1 - float64(c.avail.MemoryMB-req.MemoryMB)*c.invMem
	usedDisk := 1 - float64(c.avail.DiskMB-req.DiskMB)*c.invDisk
	usedCont := 1 - float64(c.avail.Containers-1)*c.invCont
	return (usedMem + usedDisk + usedCont) / 3
}

// refreshFixed recomputes the item-independent part of cell i's score.
func (p *placer) refreshFixed(i int32) {
	c := &p.cells[i]
	c.fixed = float64(c.starting)*p.opts.StartingContainerWeight + float64(i)*p.opts.BinPackFirstFitWeight
}

// scoreLRP returns the winning cell for an LRP instance, or -1 and the
// resource problems shared by every compatible cell it scanned.
func (p *placer) scoreLRP(cl *class, ps *procState, counts []int32, req model.Resources) (int32, problemSet) {
	order := append(p.order[:0], cl.zones...)
	for i := 1; i < len(order); i++ { // few zones: insertion sort, stable
		for j := i; j > 0 && ps.zones[order[j].zone] < ps.zones[order[j-1].zone]; j-- {
			order[j], order[j-1] = order[j-1], order[j]
		}
	}
	p.order = order
	winner, best, problems := int32(-1), math.Inf(1), allProblems
	loc := p.opts.LocalityOffset
	for i := 0; i < len(order); {
		level := ps.zones[order[i].zone]
		for ; i < len(order) && ps.zones[order[i].zone] == level; i++ {
			for _, ci := range order[i].cells {
				c := &p.cells[ci]
				if !fits(c.avail, req) {
					problems &= shortfall(c.avail, req)
					continue
				}
				s := resourceScore(c, req) + c.fixed + loc*float64(counts[ci])
				if s < best {
					best, winner = s, ci
				}
			}
		}
		if winner >= 0 {
			break
		}
	}
	return winner, problems
}

// scoreTask returns the winning cell for a task, or -1 and the shared
// problems. Tasks are spread by task count, not by zone.
func (p *placer) scoreTask(cl *class, req model.Resources) (int32, problemSet) {
	winner, best, problems := int32(-1), math.Inf(1), allProblems
	loc := p.opts.LocalityOffset
	for _, zc := range cl.zones {
		for _, ci := range zc.cells {
			c := &p.cells[ci]
			if !fits(c.avail, req) {
				problems &= shortfall(c.avail, req)
				continue
			}
			// Diego's task score has no bin-pack term.
			s := resourceScore(c, req) + float64(c.starting)*p.opts.StartingContainerWeight + loc*float64(c.tasks)
			if s < best {
				best, winner = s, ci
			}
		}
	}
	return winner, problems
}

// reserve takes req out of cell i so later items see it: one container,
// memory and disk, one more starting container.
func (p *placer) reserve(i int32, req model.Resources, task bool) {
	c := &p.cells[i]
	c.avail.MemoryMB -= req.MemoryMB
	c.avail.DiskMB -= req.DiskMB
	c.avail.Containers--
	c.starting++
	if task {
		c.tasks++
	}
	p.inFlight++
	p.refreshFixed(i)
}

// reserveLRP counts one more instance of the process on cell i and its zone.
func (p *placer) reserveLRP(ps *procState, i int32) {
	ps.zones[p.cells[i].zone]++
	if ps.dense != nil {
		ps.dense[i]++
		return
	}
	for k := range ps.sparse {
		if ps.sparse[k].cell == i {
			ps.sparse[k].count++
			return
		}
	}
	ps.sparse = append(ps.sparse, cellCount{cell: i, count: 1})
}
