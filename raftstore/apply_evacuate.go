package raftstore

import (
	"github.com/diegod/diegod/model"
)

// applyEvacuateRunningActualLRP moves a RUNNING instance off its cell
// make-before-break (spec §6.6). The ORDINARY row held by the instance key
// is copied into an EVACUATING row (same instance key and net info, still
// RUNNING, so it stays routed and keeps its reservation on the draining
// cell) and the ORDINARY row becomes UNCLAIMED (crash count kept) so the
// auction places a replacement. applyStartActualLRP deletes the EVACUATING
// row once the replacement runs; a crash of the evacuating instance deletes
// it too (applyCrashActualLRP).
//
// An EVACUATING row already present for the index (an earlier evacuation
// whose replacement is this instance) is replaced: only one evacuating copy
// is kept, the newest.
func (t *applyTx) applyEvacuateRunningActualLRP(c model.EvacuateRunningActualLRP) *model.Error {
	if c.InstanceKey.InstanceGUID == "" || c.InstanceKey.CellID == "" {
		return model.Errorf(model.CodeInvalidRequest, "evacuate actual lrp %s: instance key required", c.Key)
	}
	ord := t.ordinary(c.Key)
	if ord == nil {
		return actualNotFound(c.Key)
	}
	if ord.State != model.StateRunning || ord.ActualLRPInstanceKey != c.InstanceKey {
		return model.Errorf(model.CodeInvalidTransition, "evacuate actual lrp %s: it is %s on instance %s, not RUNNING on instance %s",
			c.Key, ord.State, ord.InstanceGUID, c.InstanceKey.InstanceGUID)
	}
	if old := t.actual(c.Key.ProcessGUID, c.Key.Index, model.PresenceEvacuating); old != nil {
		t.removeActual(old)
	}
	evac := next(ord)
	evac.Presence = model.PresenceEvacuating
	after := next(ord)
	t.toUnclaimed(after)
	// As with suspects, the instance leaves the ORDINARY row before it
	// appears as the EVACUATING one, so a consumer keyed by instance guid
	// ends with it present. Both changes are in one entry.
	t.changeActual(ord, after)
	t.createActual(evac)
	return nil
}
