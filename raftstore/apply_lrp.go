package raftstore

import (
	"errors"

	"github.com/diegod/diegod/model"
)

// asModelError returns err as a *model.Error, wrapping anything else as an
// invalid request.
func asModelError(err error) *model.Error {
	var me *model.Error
	if errors.As(err, &me) {
		return me
	}
	return model.Errorf(model.CodeInvalidRequest, "%v", err)
}

func desiredNotFound(guid string) *model.Error {
	return model.Errorf(model.CodeNotFound, "desired lrp %s not found", guid)
}

// applyDesireLRP stores a new DesiredLRP and creates UNCLAIMED ORDINARY rows
// for indices 0..instances-1 (spec §1.2).
func (t *applyTx) applyDesireLRP(c model.DesireLRP) *model.Error {
	d := c.LRP
	d.Normalize()
	if err := d.Validate(); err != nil {
		return asModelError(err)
	}
	if t.desired(d.ProcessGUID) != nil {
		return model.Errorf(model.CodeResourceExists, "desired lrp %s already exists", d.ProcessGUID)
	}
	d.ModificationTag = model.ModificationTag{Epoch: t.newEpoch()}
	must(t.txn.Insert(tableDesired, &d))
	t.emit(model.Event{Type: model.EventDesiredLRPCreated, DesiredAfter: &d})
	for i := 0; i < d.Instances; i++ {
		if t.ordinary(model.ActualLRPKey{ProcessGUID: d.ProcessGUID, Index: i}) == nil {
			t.createActual(t.newUnclaimed(&d, i))
		}
	}
	return nil
}

// applyUpdateDesiredLRP changes instances, routes or annotation. Scaling up
// creates UNCLAIMED rows for the new indices; scaling down deletes every row
// (any presence) whose index is >= instances, and the cells holding them
// stop their containers.
func (t *applyTx) applyUpdateDesiredLRP(c model.UpdateDesiredLRP) *model.Error {
	old := t.desired(c.ProcessGUID)
	if old == nil {
		return desiredNotFound(c.ProcessGUID)
	}
	if err := c.Update.Validate(len(old.Ports)); err != nil {
		return asModelError(err)
	}
	d := c.Update.Apply(*old)
	d.ModificationTag.Increment()
	must(t.txn.Insert(tableDesired, &d))
	t.emit(model.Event{Type: model.EventDesiredLRPChanged, DesiredBefore: old, DesiredAfter: &d})
	switch {
	case d.Instances > old.Instances:
		for i := old.Instances; i < d.Instances; i++ {
			if t.ordinary(model.ActualLRPKey{ProcessGUID: d.ProcessGUID, Index: i}) == nil {
				t.createActual(t.newUnclaimed(&d, i))
			}
		}
	case d.Instances < old.Instances:
		for _, row := range t.rowsOfProcess(d.ProcessGUID) {
			if row.Index >= d.Instances {
				t.removeActual(row)
			}
		}
	}
	return nil
}

// applyRemoveDesiredLRP deletes a DesiredLRP and every row of it.
func (t *applyTx) applyRemoveDesiredLRP(c model.RemoveDesiredLRP) *model.Error {
	old := t.desired(c.ProcessGUID)
	if old == nil {
		return desiredNotFound(c.ProcessGUID)
	}
	for _, row := range t.rowsOfProcess(c.ProcessGUID) {
		t.removeActual(row)
	}
	must(t.txn.Delete(tableDesired, old))
	t.emit(model.Event{Type: model.EventDesiredLRPRemoved, DesiredBefore: old})
	return nil
}

// applyCreateMissingActualLRP creates the UNCLAIMED ORDINARY row of an index
// of a DesiredLRP that has none (convergence).
func (t *applyTx) applyCreateMissingActualLRP(c model.CreateMissingActualLRP) *model.Error {
	d := t.desired(c.Key.ProcessGUID)
	if d == nil {
		return desiredNotFound(c.Key.ProcessGUID)
	}
	if c.Key.Index < 0 || c.Key.Index >= d.Instances {
		return model.Errorf(model.CodeNotFound, "desired lrp %s has no index %d (instances %d)",
			d.ProcessGUID, c.Key.Index, d.Instances)
	}
	if t.ordinary(c.Key) != nil {
		return model.Errorf(model.CodeResourceExists, "actual lrp %s already exists", c.Key)
	}
	t.createActual(t.newUnclaimed(d, c.Key.Index))
	return nil
}
