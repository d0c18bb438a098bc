package raftstore

import (
	"fmt"
	"strconv"
	"time"

	"github.com/diegod/diegod/model"
	"github.com/hashicorp/go-memdb"
)

// rowKey identifies an actual row: (process_guid, index, presence).
type rowKey struct {
	guid     string
	index    int
	presence model.Presence
}

func rowKeyOf(a *model.ActualLRP) rowKey { return rowKey{a.ProcessGUID, a.Index, a.Presence} }

// rowIndex is the writer's own point-lookup index of the actual rows: a
// plain map that mirrors the actual_lrps table. It is touched only by the
// FSM goroutine (apply and restore), so it needs no lock.
//
// It exists for speed: a read on a memdb write transaction that has
// modifications clones the index and resets its writable-node cache, so
// interleaving lookups and writes (ClaimBatch with thousands of placements)
// would make every write copy its whole path again, and memdb's generic
// lookup boxes its arguments and allocates the key on every call.
type rowIndex map[rowKey]*model.ActualLRP

// buildRowIndex indexes every actual row of txn.
func buildRowIndex(txn *memdb.Txn) rowIndex {
	it, err := txn.Get(tableActual, indexID)
	must(err)
	idx := rowIndex{}
	for raw := it.Next(); raw != nil; raw = it.Next() {
		a := raw.(*model.ActualLRP)
		idx[rowKeyOf(a)] = a
	}
	return idx
}

// applyTx is the write side of one ApplyBatch: the memdb write transaction,
// the entry being applied (its index and timestamp) and the events it
// produced. Point lookups of actual rows use the FSM's rowIndex, which
// every write keeps in step with the transaction; scans (by process, by
// cell) are rare and read the write transaction directly.
type applyTx struct {
	txn  *memdb.Txn
	rows rowIndex

	index  uint64
	now    time.Time
	seq    int
	events []model.Event
}

func newApplyTx(db *memdb.MemDB, rows rowIndex) *applyTx {
	return &applyTx{txn: db.Txn(true), rows: rows}
}

// startEntry resets the per-entry fields.
func (t *applyTx) startEntry(index uint64, now time.Time) {
	t.index, t.now, t.seq, t.events = index, now, 0, nil
}

// newEpoch returns a deterministic, unique epoch for a record created by
// this entry: "<raft index>-<sequence in entry>".
func (t *applyTx) newEpoch() string {
	t.seq++
	return strconv.FormatUint(t.index, 10) + "-" + strconv.Itoa(t.seq)
}

func (t *applyTx) emit(ev model.Event) {
	ev.Index = t.index
	t.events = append(t.events, ev)
}

// must panics on a memdb error: with our own indexers and objects it can
// only be a programming error, and the FSM must not diverge silently.
func must(err error) {
	if err != nil {
		panic(fmt.Sprintf("raftstore: state transaction: %v", err))
	}
}

// ---- actual rows ----

// actual returns the row at (guid, index, presence) or nil.
func (t *applyTx) actual(guid string, index int, p model.Presence) *model.ActualLRP {
	return t.rows[rowKey{guid, index, p}]
}

// ordinary returns the ORDINARY row of key or nil.
func (t *applyTx) ordinary(key model.ActualLRPKey) *model.ActualLRP {
	return t.actual(key.ProcessGUID, key.Index, model.PresenceOrdinary)
}

// rowsOfIndex returns the rows of key in presence order.
func (t *applyTx) rowsOfIndex(key model.ActualLRPKey) []*model.ActualLRP {
	var out []*model.ActualLRP
	for _, p := range []model.Presence{model.PresenceOrdinary, model.PresenceEvacuating, model.PresenceSuspect} {
		if r := t.actual(key.ProcessGUID, key.Index, p); r != nil {
			out = append(out, r)
		}
	}
	return out
}

// rowsOfProcess returns every row of guid in (index, presence) order.
func (t *applyTx) rowsOfProcess(guid string) []*model.ActualLRP {
	it, err := t.txn.Get(tableActual, indexIDPrefix, guid)
	must(err)
	var out []*model.ActualLRP
	for raw := it.Next(); raw != nil; raw = it.Next() {
		out = append(out, raw.(*model.ActualLRP))
	}
	return out
}

// allocation sums the Resources of the CLAIMED/RUNNING rows on cellID, in
// any presence, and of the tasks RUNNING there.
func (t *applyTx) allocation(cellID string) model.Resources {
	it, err := t.txn.Get(tableActual, indexCell, cellID)
	must(err)
	var sum model.Resources
	for raw := it.Next(); raw != nil; raw = it.Next() {
		if a := raw.(*model.ActualLRP); a.IsPlaced() {
			sum = sum.Add(a.Resources)
		}
	}
	return sum.Add(t.taskAllocation(cellID))
}

func (t *applyTx) putActual(row *model.ActualLRP) {
	must(t.txn.Insert(tableActual, row))
	t.rows[rowKeyOf(row)] = row
}

func (t *applyTx) deleteActual(row *model.ActualLRP) {
	must(t.txn.Delete(tableActual, row))
	delete(t.rows, rowKeyOf(row))
}

// createActual inserts a new row and emits instance_created.
func (t *applyTx) createActual(row *model.ActualLRP) {
	t.putActual(row)
	t.emit(model.Event{Type: model.EventActualLRPInstanceCreated, ActualAfter: row})
}

// changeActual replaces before by after (same key and presence) and emits
// instance_changed.
func (t *applyTx) changeActual(before, after *model.ActualLRP) {
	t.putActual(after)
	t.emit(model.Event{Type: model.EventActualLRPInstanceChanged, ActualBefore: before, ActualAfter: after})
}

// removeActual deletes a row and emits instance_removed.
func (t *applyTx) removeActual(before *model.ActualLRP) {
	t.deleteActual(before)
	t.emit(model.Event{Type: model.EventActualLRPInstanceRemoved, ActualBefore: before})
}

// newUnclaimed returns a fresh UNCLAIMED ORDINARY row for index of d.
func (t *applyTx) newUnclaimed(d *model.DesiredLRP, index int) *model.ActualLRP {
	return &model.ActualLRP{
		ActualLRPKey:    model.ActualLRPKey{ProcessGUID: d.ProcessGUID, Index: index, Domain: d.Domain},
		State:           model.StateUnclaimed,
		Presence:        model.PresenceOrdinary,
		Since:           t.now,
		ModificationTag: model.ModificationTag{Epoch: t.newEpoch()},
		Resources:       d.Resources(),
	}
}

// next returns a copy of row with its modification index bumped, ready to
// be changed and stored.
func next(row *model.ActualLRP) *model.ActualLRP {
	c := *row
	c.ModificationTag.Increment()
	return &c
}

// toUnclaimed clears the instance key, net info and placement error and
// makes the row UNCLAIMED since now.
func (t *applyTx) toUnclaimed(row *model.ActualLRP) {
	row.State = model.StateUnclaimed
	row.ActualLRPInstanceKey = model.ActualLRPInstanceKey{}
	row.ActualLRPNetInfo = model.ActualLRPNetInfo{}
	row.PlacementError = ""
	row.Since = t.now
}

// ---- desired LRPs ----

func (t *applyTx) desired(guid string) *model.DesiredLRP {
	raw, err := t.txn.First(tableDesired, indexID, guid)
	must(err)
	if raw == nil {
		return nil
	}
	return raw.(*model.DesiredLRP)
}

// ---- cells ----

func (t *applyTx) cell(id string) *model.Cell {
	raw, err := t.txn.First(tableCells, indexID, id)
	must(err)
	if raw == nil {
		return nil
	}
	return raw.(*model.Cell)
}

// ---- meta ----

func (t *applyTx) setApplied(index uint64) {
	must(t.txn.Insert(tableMeta, &metaRow{Key: metaAppliedIndex, Value: index}))
}

// appliedIndex reads the applied index of any memdb transaction.
func appliedIndex(txn *memdb.Txn) uint64 {
	raw, err := txn.First(tableMeta, indexID, metaAppliedIndex)
	must(err)
	if raw == nil {
		return 0
	}
	return raw.(*metaRow).Value
}
