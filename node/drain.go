package node

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/hashicorp/raft"

	"github.com/diegod/diegod/cell"
	"github.com/diegod/diegod/model"
)

var _ cell.CellStateSource = (*assignments)(nil)

// CellState implements cell.CellStateSource: the cell evacuates while its
// record is DRAINING.
func (a *assignments) CellState(cellID string) (model.CellState, bool) {
	c, ok := a.store.View().Cell(cellID)
	return c.State, ok
}

// drainRequest is the optional body of POST /v1/cells/{id}/drain.
type drainRequest struct {
	// Cancel makes a draining cell ALIVE again.
	Cancel bool `json:"cancel"`
}

// DrainResult answers POST /v1/cells/{id}/drain.
type DrainResult struct {
	CellID string          `json:"cell_id"`
	State  model.CellState `json:"state"`
	Index  uint64          `json:"index"`
}

// handleDrain marks a cell DRAINING (its cell then evacuates its
// instances, make-before-break) or, with {"cancel": true}, ALIVE again.
// It returns at once; `diegod drain` follows the cell's allocation.
func (n *Node) handleDrain(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	var req drainRequest
	if r.ContentLength != 0 {
		if err := decodeInternal(w, r, &req); err != nil {
			writeError(w, err)
			return
		}
	}
	state := model.CellDraining
	if req.Cancel {
		state = model.CellAlive
	}
	idx, err := n.prop.Propose(r.Context(), model.SetCellState{CellID: id, State: state})
	if err != nil {
		writeError(w, err)
		return
	}
	n.log.Info().Str(logKeyCellID, id).Str(logKeyState, string(state)).Msg("drain requested")
	writeJSON(w, http.StatusOK, DrainResult{CellID: id, State: state, Index: idx})
}

// placedOn counts the rows (any presence) that hold a reservation on
// cellID.
func (n *Node) placedOn(cellID string) int {
	k := 0
	for _, a := range n.store.View().ActualLRPsByCell(cellID) {
		if a.IsPlaced() {
			k++
		}
	}
	return k
}

// Drain marks cellID DRAINING and waits until no instance is placed on it
// (every one moved, make-before-break) or ctx ends.
func (n *Node) Drain(ctx context.Context, cellID string) error {
	if _, err := n.prop.Propose(ctx, model.SetCellState{CellID: cellID, State: model.CellDraining}); err != nil {
		return fmt.Errorf("drain %s: %w", cellID, err)
	}
	return n.waitEmpty(ctx, cellID)
}

// waitEmpty waits until no row is placed on cellID.
func (n *Node) waitEmpty(ctx context.Context, cellID string) error {
	for {
		events := n.store.Subscribe(ctx, 1024)
		if n.placedOn(cellID) == 0 {
			return nil
		}
		for range events {
			if n.placedOn(cellID) == 0 {
				return nil
			}
		}
		if ctx.Err() != nil {
			return fmt.Errorf("drain %s: %d instances still placed: %w", cellID, n.placedOn(cellID), ctx.Err())
		}
	}
}

// Leave is the graceful leave (SIGTERM): it hands Raft leadership to
// another voter if this node leads, evacuates this node's instances
// make-before-break when another cell can take them (bounded by
// DrainTimeout), then says goodbye in gossip. Run keeps serving until its
// context ends; the caller cancels it after Leave.
func (n *Node) Leave(ctx context.Context) error {
	var errs []error
	if n.store.IsLeader() && n.otherVoters() {
		if err := n.store.Raft().LeadershipTransfer().Error(); err != nil {
			errs = append(errs, fmt.Errorf("transfer leadership: %w", err))
		} else {
			n.log.Info().Msg("leadership transferred")
		}
	}
	if n.otherAliveCell() {
		dctx, cancel := context.WithTimeout(ctx, n.cfg.DrainTimeout)
		err := n.Drain(dctx, n.cfg.NodeName)
		cancel()
		if err != nil {
			errs = append(errs, err)
		} else {
			n.log.Info().Msg("instances evacuated")
		}
	}
	n.left.Store(true)
	if err := n.gossip.Leave(gossipLeaveTimeout); err != nil {
		errs = append(errs, fmt.Errorf("leave gossip: %w", err))
	}
	n.log.Info().Msg("left the cluster")
	return errors.Join(errs...)
}

// otherVoters reports whether the Raft configuration has a voter besides
// this node.
func (n *Node) otherVoters() bool {
	fut := n.store.Raft().GetConfiguration()
	if fut.Error() != nil {
		return false
	}
	for _, s := range fut.Configuration().Servers {
		if s.Suffrage == raft.Voter && string(s.ID) != n.cfg.NodeName {
			return true
		}
	}
	return false
}

// otherAliveCell reports whether another cell can take work.
func (n *Node) otherAliveCell() bool {
	for _, c := range n.store.View().Cells() {
		if c.CellID != n.cfg.NodeName && c.Schedulable() {
			return true
		}
	}
	return false
}
