package node

import (
	"context"
	"sync"

	"github.com/diegod/diegod/auction"
	"github.com/diegod/diegod/cell"
	"github.com/diegod/diegod/model"
	"github.com/diegod/diegod/raftstore"
	"github.com/diegod/diegod/routing"
)

// auctionSource adapts the store to auction.Source.
type auctionSource struct{ store *raftstore.Store }

var _ auction.Source = auctionSource{}

func (s auctionSource) Snapshot() auction.Snapshot {
	v := s.store.View()
	return auction.Snapshot{Index: v.Index(), Desired: v.DesiredLRPs(), Actuals: v.ActualLRPs(), Cells: v.Cells(), Tasks: v.Tasks()}
}

func (s auctionSource) Subscribe(ctx context.Context, buffer int) <-chan []model.Event {
	return s.store.Subscribe(ctx, buffer)
}

// routingSource adapts the store to routing.Source: LRPs with routes and
// their RUNNING rows.
type routingSource struct{ store *raftstore.Store }

var _ routing.Source = routingSource{}

func (s routingSource) Snapshot() routing.Snapshot {
	v := s.store.View()
	snap := routing.Snapshot{Index: v.Index()}
	for _, d := range v.DesiredLRPs() {
		if len(d.Routes) == 0 {
			continue
		}
		snap.Desired = append(snap.Desired, d)
		for _, a := range v.ActualLRPsByProcess(d.ProcessGUID) {
			if a.State == model.StateRunning {
				snap.Actuals = append(snap.Actuals, a)
			}
		}
	}
	return snap
}

func (s routingSource) Subscribe(ctx context.Context, buffer int) <-chan []model.Event {
	return s.store.Subscribe(ctx, buffer)
}

// assignments implements cell.AssignmentSource over the local store: it
// follows the event stream and remembers, per cell, the last index that
// changed something on that cell, so a cell's long poll wakes only for its
// own work.
type assignments struct {
	store *raftstore.Store

	mu      sync.Mutex
	changed map[string]uint64 // cell id -> last index that touched it
	all     uint64            // index of the last resync: every cell is woken
	wake    chan struct{}     // closed and replaced on every change
}

var _ cell.AssignmentSource = (*assignments)(nil)

func newAssignments(store *raftstore.Store) *assignments {
	return &assignments{store: store, changed: map[string]uint64{}, wake: make(chan struct{})}
}

// Run follows the store's events until ctx ends.
func (a *assignments) Run(ctx context.Context) error {
	for ctx.Err() == nil {
		ch := a.store.Subscribe(ctx, 4096)
		// A (re)subscription may have missed events: wake every cell.
		a.note(nil, a.store.AppliedIndex())
		for batch := range ch {
			a.note(batch, 0)
		}
	}
	return nil
}

func (a *assignments) note(batch []model.Event, resync uint64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if resync > 0 {
		a.all = resync
	}
	for i := range batch {
		ev := &batch[i]
		for _, id := range eventCells(ev) {
			if ev.Index > a.changed[id] {
				a.changed[id] = ev.Index
			}
		}
	}
	close(a.wake)
	a.wake = make(chan struct{})
}

// eventCells returns the cells an event touches (before and after).
func eventCells(ev *model.Event) []string {
	var out []string
	for _, r := range []*model.ActualLRP{ev.ActualBefore, ev.ActualAfter} {
		if r != nil && r.CellID != "" {
			out = append(out, r.CellID)
		}
	}
	for _, t := range []*model.Task{ev.TaskBefore, ev.TaskAfter} {
		if t != nil && t.CellID != "" {
			out = append(out, t.CellID)
		}
	}
	for _, c := range []*model.Cell{ev.CellBefore, ev.CellAfter} {
		if c != nil {
			out = append(out, c.CellID)
		}
	}
	return out
}

// Assignments implements cell.AssignmentSource.
func (a *assignments) Assignments(ctx context.Context, cellID string, minIndex uint64) (cell.Assignment, error) {
	for {
		a.mu.Lock()
		last := max(a.changed[cellID], a.all)
		wake := a.wake
		a.mu.Unlock()
		if minIndex == 0 || last > minIndex {
			break
		}
		select {
		case <-wake:
		case <-ctx.Done():
			return cell.Assignment{}, ctx.Err()
		}
	}
	v := a.store.View()
	rows := v.ActualLRPsByCell(cellID)
	desired := make(map[string]model.DesiredLRP, len(rows))
	for _, r := range rows {
		if _, ok := desired[r.ProcessGUID]; ok {
			continue
		}
		if d, ok := v.DesiredLRP(r.ProcessGUID); ok {
			desired[r.ProcessGUID] = d
		}
	}
	return cell.Assignment{Index: v.Index(), Rows: rows, Desired: desired, Tasks: v.TasksByCell(cellID)}, nil
}

// reporter implements cell.Reporter through the node's proposer.
type reporter struct{ prop proposer }

var _ cell.Reporter = reporter{}

func (r reporter) Report(ctx context.Context, cmd model.Command) error {
	_, err := r.prop.Propose(ctx, cmd)
	return err
}
