package auction

import (
	"strconv"
	"strings"

	"github.com/diegod/diegod/model"
)

// PendingWork returns the work one auction should take from s: every
// ORDINARY UNCLAIMED row without a placement error, and, when includeFailed
// is set, those with one too (the runner sets it when the schedulable cells
// changed since the last auction, so failures are retried at once rather
// than after the 30 s stale period). Rows whose DesiredLRP is gone are left
// to convergence. Each key appears once, in snapshot order.
func PendingWork(s Snapshot, includeFailed bool) []Work {
	desired := make(map[string]*model.DesiredLRP, len(s.Desired))
	for i := range s.Desired {
		desired[s.Desired[i].ProcessGUID] = &s.Desired[i]
	}
	var work []Work
	seen := map[model.ActualLRPKey]struct{}{}
	for i := range s.Actuals {
		a := &s.Actuals[i]
		if a.State != model.StateUnclaimed || a.Presence != model.PresenceOrdinary {
			continue
		}
		if a.PlacementError != "" && !includeFailed {
			continue
		}
		d := desired[a.ProcessGUID]
		if d == nil {
			continue
		}
		k := model.ActualLRPKey{ProcessGUID: a.ProcessGUID, Index: a.Index}
		if _, dup := seen[k]; dup {
			continue
		}
		seen[k] = struct{}{}
		res := a.Resources
		if res == (model.Resources{}) {
			res = d.Resources()
		}
		work = append(work, Work{
			Key:           a.ActualLRPKey,
			Resources:     res,
			RootFS:        d.RootFS,
			PlacementTags: d.PlacementTags,
		})
	}
	return work
}

// HasFailedWork reports whether s has ORDINARY UNCLAIMED rows with a
// placement error (whose DesiredLRP exists).
func HasFailedWork(s Snapshot) bool {
	desired := make(map[string]struct{}, len(s.Desired))
	for i := range s.Desired {
		desired[s.Desired[i].ProcessGUID] = struct{}{}
	}
	for i := range s.Actuals {
		a := &s.Actuals[i]
		if a.State == model.StateUnclaimed && a.Presence == model.PresenceOrdinary && a.PlacementError != "" {
			if _, ok := desired[a.ProcessGUID]; ok {
				return true
			}
		}
	}
	return false
}

// CellViews returns a CellView per cell of s with its allocations and
// counters: Allocated sums the Resources of the CLAIMED and RUNNING rows on
// the cell (any presence) and of the tasks RUNNING there, as the store's
// CellAllocations; Instances counts the rows per process_guid, Starting
// the CLAIMED ones and Tasks the running tasks.
func CellViews(s Snapshot) []CellView {
	views := make([]CellView, len(s.Cells))
	byID := make(map[string]*CellView, len(s.Cells))
	for i, c := range s.Cells {
		views[i] = CellView{Cell: c, Instances: map[string]int{}}
		if _, dup := byID[c.CellID]; !dup {
			byID[c.CellID] = &views[i]
		}
	}
	for i := range s.Actuals {
		a := &s.Actuals[i]
		if !a.IsPlaced() {
			continue
		}
		v := byID[a.CellID]
		if v == nil {
			continue
		}
		v.Allocated = v.Allocated.Add(a.Resources)
		v.Instances[a.ProcessGUID]++
		if a.State == model.StateClaimed {
			v.Starting++
		}
	}
	countTasks(byID, s.Tasks)
	return views
}

// CellSignature summarises what the auction can place on: the schedulable
// cells with their zone, capacity, tags and rootfs providers. Two snapshots
// with the same signature offer the same places (allocations aside), so a
// placement that failed on one fails on the other.
func CellSignature(cells []model.Cell) string {
	var b strings.Builder
	for i := range cells {
		c := &cells[i]
		if !c.Schedulable() {
			continue
		}
		b.WriteString(c.CellID)
		b.WriteByte('|')
		b.WriteString(c.Zone)
		b.WriteByte('|')
		b.WriteString(strconv.Itoa(c.Capacity.MemoryMB))
		b.WriteByte(',')
		b.WriteString(strconv.Itoa(c.Capacity.DiskMB))
		b.WriteByte(',')
		b.WriteString(strconv.Itoa(c.Capacity.Containers))
		b.WriteByte('|')
		b.WriteString(strings.Join(model.SortedStrings(c.PlacementTags), ","))
		b.WriteByte('|')
		b.WriteString(strings.Join(model.SortedStrings(c.OptionalPlacementTags), ","))
		b.WriteByte('|')
		b.WriteString(strings.Join(model.SortedStrings(c.RootFSProviders), ","))
		b.WriteByte('\n')
	}
	return b.String()
}

// wakeReasons says which loops a batch of events concerns.
type wakeReasons struct {
	auction  bool // an UNCLAIMED row awaits placement, or the cells changed
	converge bool // a cell changed, a row was left CRASHED, a desired LRP went
}

// classify inspects one batch of committed events.
func classify(events []model.Event) wakeReasons {
	var w wakeReasons
	for i := range events {
		e := &events[i]
		switch e.Type {
		case model.EventCellChanged, model.EventCellRemoved:
			w.auction = true
			w.converge = true
		case model.EventDesiredLRPRemoved:
			w.converge = true
		}
		classifyTask(e, &w)
		if a := e.ActualAfter; a != nil {
			if a.State == model.StateUnclaimed && a.Presence == model.PresenceOrdinary && a.PlacementError == "" {
				w.auction = true
			}
			if a.State == model.StateCrashed {
				w.converge = true
			}
		}
	}
	return w
}
