package raftstore

import (
	"reflect"

	"github.com/diegod/diegod/model"
)

func cellNotFound(id string) *model.Error {
	return model.Errorf(model.CodeNotFound, "cell %s not found", id)
}

// applyUpsertCell registers a cell or refreshes its record. An empty state
// means ALIVE. Since moves to now when the cell is new or its state changes;
// a refresh that changes nothing writes nothing and emits nothing.
func (t *applyTx) applyUpsertCell(c model.UpsertCell) *model.Error {
	cell := c.Cell
	if cell.State == "" {
		cell.State = model.CellAlive
	}
	if err := cell.Validate(); err != nil {
		return asModelError(err)
	}
	old := t.cell(cell.CellID)
	switch {
	case old == nil || old.State != cell.State:
		cell.Since = t.now
	default:
		cell.Since = old.Since
		if reflect.DeepEqual(*old, cell) {
			return nil
		}
	}
	must(t.txn.Insert(tableCells, &cell))
	t.emit(model.Event{Type: model.EventCellChanged, CellBefore: old, CellAfter: &cell})
	return nil
}

// applySetCellState marks a cell ALIVE, DRAINING or LOST.
func (t *applyTx) applySetCellState(c model.SetCellState) *model.Error {
	switch c.State {
	case model.CellAlive, model.CellDraining, model.CellLost:
	default:
		return model.Errorf(model.CodeInvalidRequest, "set cell state %s: state %q is unknown", c.CellID, c.State)
	}
	old := t.cell(c.CellID)
	if old == nil {
		return cellNotFound(c.CellID)
	}
	if old.State == c.State {
		return nil
	}
	cell := *old
	cell.State = c.State
	cell.Since = t.now
	must(t.txn.Insert(tableCells, &cell))
	t.emit(model.Event{Type: model.EventCellChanged, CellBefore: old, CellAfter: &cell})
	return nil
}

// applyRemoveCell forgets a cell. Its rows stay; convergence treats rows on
// an unknown cell like rows on a lost one.
func (t *applyTx) applyRemoveCell(c model.RemoveCell) *model.Error {
	old := t.cell(c.CellID)
	if old == nil {
		return cellNotFound(c.CellID)
	}
	must(t.txn.Delete(tableCells, old))
	t.emit(model.Event{Type: model.EventCellRemoved, CellBefore: old})
	return nil
}
