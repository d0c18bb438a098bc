package raftstore

import (
	"github.com/diegod/diegod/model"
	"github.com/hashicorp/go-memdb"
)

// View is a consistent read-only snapshot of the state at one applied index.
// Taking one is cheap (a memdb read transaction: no copy, no lock held) and
// it never changes, however long it is kept. Values returned by its methods
// are copies; the slices are fresh, but reference fields inside the records
// (a DesiredLRP's Action, Env, Routes, Ports, ...; an ActualLRP's Ports; a
// Cell's tag lists) are shared with the store and must not be modified.
//
// A View is safe for concurrent use.
type View struct {
	txn   *memdb.Txn
	index uint64
}

func newView(txn *memdb.Txn) *View {
	return &View{txn: txn, index: appliedIndex(txn)}
}

// Index returns the Raft index of the last entry reflected in the view.
func (v *View) Index() uint64 { return v.index }

// DesiredLRP returns the DesiredLRP of guid.
func (v *View) DesiredLRP(guid string) (model.DesiredLRP, bool) {
	raw, err := v.txn.First(tableDesired, indexID, guid)
	must(err)
	if raw == nil {
		return model.DesiredLRP{}, false
	}
	return *raw.(*model.DesiredLRP), true
}

// DesiredLRPs returns every DesiredLRP, sorted by process guid.
func (v *View) DesiredLRPs() []model.DesiredLRP {
	it, err := v.txn.Get(tableDesired, indexID)
	must(err)
	var out []model.DesiredLRP
	for raw := it.Next(); raw != nil; raw = it.Next() {
		out = append(out, *raw.(*model.DesiredLRP))
	}
	return out
}

func collectActuals(it memdb.ResultIterator) []model.ActualLRP {
	var out []model.ActualLRP
	for raw := it.Next(); raw != nil; raw = it.Next() {
		out = append(out, *raw.(*model.ActualLRP))
	}
	return out
}

// ActualLRPs returns every row, sorted by process guid, index and presence
// (ORDINARY, EVACUATING, SUSPECT).
func (v *View) ActualLRPs() []model.ActualLRP {
	it, err := v.txn.Get(tableActual, indexID)
	must(err)
	return collectActuals(it)
}

// ActualLRPsByProcess returns the rows of guid, sorted by index and
// presence.
func (v *View) ActualLRPsByProcess(guid string) []model.ActualLRP {
	it, err := v.txn.Get(tableActual, indexIDPrefix, guid)
	must(err)
	return collectActuals(it)
}

// ActualLRP returns the row of key with presence.
func (v *View) ActualLRP(key model.ActualLRPKey, presence model.Presence) (model.ActualLRP, bool) {
	raw, err := v.txn.First(tableActual, indexID, key.ProcessGUID, key.Index, presence)
	must(err)
	if raw == nil {
		return model.ActualLRP{}, false
	}
	return *raw.(*model.ActualLRP), true
}

// ActualLRPsByCell returns the rows whose cell_id is cellID, sorted by
// process guid, index and presence.
func (v *View) ActualLRPsByCell(cellID string) []model.ActualLRP {
	if cellID == "" {
		return nil
	}
	it, err := v.txn.Get(tableActual, indexCell, cellID)
	must(err)
	return collectActuals(it)
}

// Cell returns the cell with id.
func (v *View) Cell(id string) (model.Cell, bool) {
	raw, err := v.txn.First(tableCells, indexID, id)
	must(err)
	if raw == nil {
		return model.Cell{}, false
	}
	return *raw.(*model.Cell), true
}

// Cells returns every cell, sorted by cell id.
func (v *View) Cells() []model.Cell {
	it, err := v.txn.Get(tableCells, indexID)
	must(err)
	var out []model.Cell
	for raw := it.Next(); raw != nil; raw = it.Next() {
		out = append(out, *raw.(*model.Cell))
	}
	return out
}

// CellAllocations returns, per cell id, the sum of the Resources of the
// CLAIMED and RUNNING rows on it, in any presence, and of the tasks
// RUNNING on it. Cells with nothing placed are absent; rows and tasks on
// unknown cells are counted under their cell id.
func (v *View) CellAllocations() map[string]model.Resources {
	it, err := v.txn.Get(tableActual, indexCell)
	must(err)
	out := map[string]model.Resources{}
	for raw := it.Next(); raw != nil; raw = it.Next() {
		if a := raw.(*model.ActualLRP); a.IsPlaced() {
			out[a.CellID] = out[a.CellID].Add(a.Resources)
		}
	}
	v.addTaskAllocations(out)
	return out
}
