package raftstore

import (
	"github.com/diegod/diegod/model"
)

// defaultPlacementError is stored when a failure carries no text, so the row
// still reads as failed (an empty error would re-auction it at once).
const defaultPlacementError = "placement failed"

// cellRoom is a cell's free capacity while one ClaimBatch applies.
type cellRoom struct {
	cell *model.Cell
	free model.Resources
}

// applyClaimBatch applies one auction plan (STYLE rule 4: place
// optimistically, check at commit). Each cell's allocation is summed once
// per command and then debited as placements are accepted, so a batch costs
// O(placements + rows on the cells it touches).
//
// A placement is accepted when the ORDINARY row exists and is UNCLAIMED and
// the cell exists, is ALIVE and has room for the row's Resources; the row
// becomes CLAIMED on the cell. Anything else is stale and skipped, not
// failed. A failure sets the placement error of a still-UNCLAIMED row. It
// returns how many placements and failures were skipped.
func (t *applyTx) applyClaimBatch(c model.ClaimBatch) (skipped int, err *model.Error) {
	rooms := map[string]*cellRoom{}
	for _, p := range c.Placements {
		row := t.ordinary(p.Key)
		if row == nil || row.State != model.StateUnclaimed || p.InstanceKey.InstanceGUID == "" || p.InstanceKey.CellID == "" {
			skipped++
			continue
		}
		room, ok := rooms[p.InstanceKey.CellID]
		if !ok {
			if cell := t.cell(p.InstanceKey.CellID); cell != nil {
				room = &cellRoom{cell: cell, free: cell.Capacity.Sub(t.allocation(cell.CellID))}
			}
			rooms[p.InstanceKey.CellID] = room
		}
		if room == nil || room.cell.State != model.CellAlive || !room.free.Fits(row.Resources) {
			skipped++
			continue
		}
		room.free = room.free.Sub(row.Resources)
		after := next(row)
		after.State = model.StateClaimed
		after.ActualLRPInstanceKey = p.InstanceKey
		after.ActualLRPNetInfo = model.ActualLRPNetInfo{}
		after.PlacementError = ""
		after.Since = t.now
		t.changeActual(row, after)
	}
	for _, f := range c.Failures {
		row := t.ordinary(f.Key)
		if row == nil || row.State != model.StateUnclaimed {
			skipped++
			continue
		}
		after := next(row)
		after.PlacementError = model.Truncate(f.Error, model.MaxReasonSize)
		if after.PlacementError == "" {
			after.PlacementError = defaultPlacementError
		}
		after.Since = t.now
		t.changeActual(row, after)
	}
	return skipped, nil
}
