package raftstore

import (
	"github.com/diegod/diegod/model"
)

// Task returns the task of guid.
func (v *View) Task(guid string) (model.Task, bool) {
	raw, err := v.txn.First(tableTasks, indexID, guid)
	must(err)
	if raw == nil {
		return model.Task{}, false
	}
	return *raw.(*model.Task), true
}

// Tasks returns every task, sorted by task guid.
func (v *View) Tasks() []model.Task {
	it, err := v.txn.Get(tableTasks, indexID)
	must(err)
	var out []model.Task
	for raw := it.Next(); raw != nil; raw = it.Next() {
		out = append(out, *raw.(*model.Task))
	}
	return out
}

// TasksByCell returns the tasks whose cell_id is cellID (the RUNNING tasks
// placed there), sorted by task guid.
func (v *View) TasksByCell(cellID string) []model.Task {
	if cellID == "" {
		return nil
	}
	it, err := v.txn.Get(tableTasks, indexCell, cellID)
	must(err)
	var out []model.Task
	for raw := it.Next(); raw != nil; raw = it.Next() {
		out = append(out, *raw.(*model.Task))
	}
	return out
}

// addTaskAllocations adds the Resources of every placed task to out, per
// cell id.
func (v *View) addTaskAllocations(out map[string]model.Resources) {
	it, err := v.txn.Get(tableTasks, indexCell)
	must(err)
	for raw := it.Next(); raw != nil; raw = it.Next() {
		if t := raw.(*model.Task); t.IsPlaced() {
			out[t.CellID] = out[t.CellID].Add(t.Resources())
		}
	}
}
