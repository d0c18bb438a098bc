package raftstore

import (
	"fmt"

	"github.com/diegod/diegod/model"
	"github.com/hashicorp/go-memdb"
)

// taskTableSchema is the tasks table: tasks by guid, and the RUNNING ones
// by the cell that runs them.
func taskTableSchema() *memdb.TableSchema {
	return &memdb.TableSchema{
		Name: tableTasks,
		Indexes: map[string]*memdb.IndexSchema{
			indexID:   {Name: indexID, Unique: true, Indexer: taskIndexer{}},
			indexCell: {Name: indexCell, AllowMissing: true, Indexer: taskCellIndexer{}},
		},
	}
}

type taskIndexer struct{}

func (taskIndexer) FromObject(raw any) (bool, []byte, error) {
	t, ok := raw.(*model.Task)
	if !ok {
		return false, nil, fmt.Errorf("task index: got %T", raw)
	}
	return true, stringKey(t.TaskGUID), nil
}

func (taskIndexer) FromArgs(args ...any) ([]byte, error) {
	s, err := argString(args, 0)
	if err != nil {
		return nil, err
	}
	return stringKey(s), nil
}

// taskCellIndexer indexes tasks by cell_id; tasks without a cell (all but
// RUNNING ones) are not in the index.
type taskCellIndexer struct{}

func (taskCellIndexer) FromObject(raw any) (bool, []byte, error) {
	t, ok := raw.(*model.Task)
	if !ok {
		return false, nil, fmt.Errorf("task cell index: got %T", raw)
	}
	if t.CellID == "" {
		return false, nil, nil
	}
	return true, stringKey(t.CellID), nil
}

func (taskCellIndexer) FromArgs(args ...any) ([]byte, error) {
	s, err := argString(args, 0)
	if err != nil {
		return nil, err
	}
	return stringKey(s), nil
}

// ---- write side ----

func taskNotFound(guid string) *model.Error {
	return model.Errorf(model.CodeNotFound, "task %s not found", guid)
}

// task returns the stored task of guid or nil.
func (t *applyTx) task(guid string) *model.Task {
	raw, err := t.txn.First(tableTasks, indexID, guid)
	must(err)
	if raw == nil {
		return nil
	}
	return raw.(*model.Task)
}

// createTask inserts a new task and emits task_created.
func (t *applyTx) createTask(task *model.Task) {
	must(t.txn.Insert(tableTasks, task))
	t.emit(model.Event{Type: model.EventTaskCreated, TaskAfter: task})
}

// changeTask replaces before by after (a fresh copy) and emits
// task_changed.
func (t *applyTx) changeTask(before, after *model.Task) {
	must(t.txn.Insert(tableTasks, after))
	t.emit(model.Event{Type: model.EventTaskChanged, TaskBefore: before, TaskAfter: after})
}

// removeTask deletes a task and emits task_removed.
func (t *applyTx) removeTask(before *model.Task) {
	must(t.txn.Delete(tableTasks, before))
	t.emit(model.Event{Type: model.EventTaskRemoved, TaskBefore: before})
}

// taskAllocation sums the Resources of the tasks RUNNING on cellID.
func (t *applyTx) taskAllocation(cellID string) model.Resources {
	return sumTaskResources(t.txn, cellID)
}

// sumTaskResources sums the Resources of the tasks placed on cellID in txn.
func sumTaskResources(txn *memdb.Txn, cellID string) model.Resources {
	it, err := txn.Get(tableTasks, indexCell, cellID)
	must(err)
	var sum model.Resources
	for raw := it.Next(); raw != nil; raw = it.Next() {
		if task := raw.(*model.Task); task.IsPlaced() {
			sum = sum.Add(task.Resources())
		}
	}
	return sum
}
