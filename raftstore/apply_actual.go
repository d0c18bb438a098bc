package raftstore

import (
	"github.com/diegod/diegod/model"
)

// The presences other than ORDINARY, in rank order.
var extraPresences = [...]model.Presence{model.PresenceEvacuating, model.PresenceSuspect}

func actualNotFound(key model.ActualLRPKey) *model.Error {
	return model.Errorf(model.CodeNotFound, "actual lrp %s not found", key)
}

func netInfoEqual(a, b model.ActualLRPNetInfo) bool {
	if a.Address != b.Address || a.InstanceAddress != b.InstanceAddress || len(a.Ports) != len(b.Ports) {
		return false
	}
	for i := range a.Ports {
		if a.Ports[i] != b.Ports[i] {
			return false
		}
	}
	return true
}

// applyStartActualLRP records that an instance runs and is healthy (spec
// §1.2 "→ RUNNING"). The cell re-sends it as a heartbeat; a heartbeat that
// changes nothing writes nothing and emits nothing.
//
// Precedence: a row already held by this exact instance key wins, so the
// heartbeat of an EVACUATING or SUSPECT instance never takes over the
// ORDINARY replacement row that is waiting for its own instance (which
// would defeat make-before-break). Only then may the instance move the
// ORDINARY row to RUNNING under Diego's transition table.
func (t *applyTx) applyStartActualLRP(c model.StartActualLRP) *model.Error {
	ik := c.InstanceKey
	if ik.InstanceGUID == "" || ik.CellID == "" {
		return model.Errorf(model.CodeInvalidRequest, "start actual lrp %s: instance key required", c.Key)
	}
	if c.NetInfo.Address == "" {
		return model.Errorf(model.CodeInvalidRequest, "start actual lrp %s: address required", c.Key)
	}
	ord := t.ordinary(c.Key)
	if ord != nil && ord.ActualLRPInstanceKey == ik {
		t.startOrdinary(ord, c)
		return nil
	}
	for _, p := range extraPresences {
		if row := t.actual(c.Key.ProcessGUID, c.Key.Index, p); row != nil && row.ActualLRPInstanceKey == ik {
			t.heartbeat(row, c.NetInfo)
			return nil
		}
	}
	if ord == nil {
		return actualNotFound(c.Key)
	}
	if !ord.AllowsTransitionTo(c.Key, ik, model.StateRunning) {
		return model.Errorf(model.CodeInvalidTransition, "actual lrp %s is %s on instance %s, cannot start instance %s",
			c.Key, ord.State, ord.InstanceGUID, ik.InstanceGUID)
	}
	t.startOrdinary(ord, c)
	return nil
}

// startOrdinary makes the ORDINARY row RUNNING under the command's instance
// key, then deletes the EVACUATING and SUSPECT rows of the index: the
// replacement runs, so the old copies can go (make-before-break).
func (t *applyTx) startOrdinary(ord *model.ActualLRP, c model.StartActualLRP) {
	if ord.State != model.StateRunning || ord.ActualLRPInstanceKey != c.InstanceKey ||
		!netInfoEqual(ord.ActualLRPNetInfo, c.NetInfo) || ord.PlacementError != "" {
		after := next(ord)
		if ord.State != model.StateRunning {
			after.Since = t.now
		}
		after.State = model.StateRunning
		after.ActualLRPInstanceKey = c.InstanceKey
		after.ActualLRPNetInfo = c.NetInfo
		after.PlacementError = ""
		t.changeActual(ord, after)
	}
	for _, p := range extraPresences {
		if row := t.actual(c.Key.ProcessGUID, c.Key.Index, p); row != nil {
			t.removeActual(row)
		}
	}
}

// heartbeat refreshes an EVACUATING or SUSPECT row held by the reporting
// instance: it updates the net info if it changed.
func (t *applyTx) heartbeat(row *model.ActualLRP, ni model.ActualLRPNetInfo) {
	if row.State == model.StateRunning && netInfoEqual(row.ActualLRPNetInfo, ni) {
		return
	}
	after := next(row)
	if row.State != model.StateRunning {
		after.State = model.StateRunning
		after.Since = t.now
	}
	after.ActualLRPNetInfo = ni
	t.changeActual(row, after)
}

// applyCrashActualLRP applies Diego's restart policy to the row held by the
// crashed instance (spec §4). A crashed SUSPECT or EVACUATING copy is simply
// deleted: the ORDINARY row already has its replacement.
func (t *applyTx) applyCrashActualLRP(c model.CrashActualLRP) *model.Error {
	rows := t.rowsOfIndex(c.Key)
	var row *model.ActualLRP
	for _, r := range rows {
		if !c.InstanceKey.Empty() && r.ActualLRPInstanceKey == c.InstanceKey {
			row = r
			break
		}
	}
	switch {
	case row == nil && len(rows) == 0:
		return actualNotFound(c.Key)
	case row == nil:
		return model.Errorf(model.CodeInvalidTransition, "actual lrp %s is not held by instance %s",
			c.Key, c.InstanceKey.InstanceGUID)
	case row.Presence != model.PresenceOrdinary:
		t.removeActual(row)
		return nil
	case !row.AllowsTransitionTo(c.Key, c.InstanceKey, model.StateCrashed):
		return model.Errorf(model.CodeInvalidTransition, "actual lrp %s is %s, cannot crash", c.Key, row.State)
	}
	count := model.CrashCountAfter(row, t.now)
	after := next(row)
	t.toUnclaimed(after)
	if !model.RestartsImmediately(count) {
		after.State = model.StateCrashed
	}
	after.CrashCount = count
	after.CrashReason = model.Truncate(c.Reason, model.MaxReasonSize)
	t.emit(model.Event{Type: model.EventActualLRPCrashed, ActualBefore: row, ActualAfter: after})
	t.changeActual(row, after)
	return nil
}

// applyRemoveActualLRP deletes the row of the key held by the instance, in
// any presence (the container stopped on purpose).
func (t *applyTx) applyRemoveActualLRP(c model.RemoveActualLRP) *model.Error {
	if c.InstanceKey.Empty() {
		return model.Errorf(model.CodeInvalidRequest, "remove actual lrp %s: instance key required", c.Key)
	}
	for _, row := range t.rowsOfIndex(c.Key) {
		if row.ActualLRPInstanceKey == c.InstanceKey {
			t.removeActual(row)
			return nil
		}
	}
	return model.Errorf(model.CodeNotFound, "actual lrp %s held by instance %s not found", c.Key, c.InstanceKey.InstanceGUID)
}

// applyUnclaimActualLRP returns the ORDINARY row to UNCLAIMED: a CRASHED row
// whose backoff has passed (empty instance key; crash count and reason are
// kept), or a CLAIMED/RUNNING row held by the instance key whose container
// is gone.
func (t *applyTx) applyUnclaimActualLRP(c model.UnclaimActualLRP) *model.Error {
	ord := t.ordinary(c.Key)
	if ord == nil {
		return actualNotFound(c.Key)
	}
	if c.InstanceKey.Empty() {
		if ord.State != model.StateCrashed {
			return model.Errorf(model.CodeInvalidTransition, "actual lrp %s is %s, not CRASHED", c.Key, ord.State)
		}
	} else if !ord.IsPlaced() || ord.ActualLRPInstanceKey != c.InstanceKey {
		return model.Errorf(model.CodeInvalidTransition, "actual lrp %s is %s on instance %s, not placed on instance %s",
			c.Key, ord.State, ord.InstanceGUID, c.InstanceKey.InstanceGUID)
	}
	after := next(ord)
	t.toUnclaimed(after)
	t.changeActual(ord, after)
	return nil
}

// applyRetireActualLRP deletes the row of the key with the presence.
func (t *applyTx) applyRetireActualLRP(c model.RetireActualLRP) *model.Error {
	row := t.actual(c.Key.ProcessGUID, c.Key.Index, c.Presence)
	if row == nil {
		return model.Errorf(model.CodeNotFound, "actual lrp %s %s not found", c.Key, c.Presence)
	}
	t.removeActual(row)
	return nil
}

// applySuspectActualLRP handles an ORDINARY row placed on a cell that has
// gone (spec §3 step 4). A RUNNING row becomes the SUSPECT (keeping its
// instance key and net info, so it stays routed) and a fresh UNCLAIMED
// ORDINARY row replaces it; a CLAIMED row, or any row of an index that
// already has a suspect, just becomes UNCLAIMED.
func (t *applyTx) applySuspectActualLRP(c model.SuspectActualLRP) *model.Error {
	ord := t.ordinary(c.Key)
	if ord == nil {
		return actualNotFound(c.Key)
	}
	if !ord.IsPlaced() {
		return model.Errorf(model.CodeInvalidTransition, "actual lrp %s is %s, not CLAIMED or RUNNING", c.Key, ord.State)
	}
	if cell := t.cell(ord.CellID); cell != nil && cell.Present() {
		return model.Errorf(model.CodeInvalidTransition, "actual lrp %s: cell %s is %s, not lost", c.Key, ord.CellID, cell.State)
	}
	if ord.State == model.StateClaimed || t.actual(c.Key.ProcessGUID, c.Key.Index, model.PresenceSuspect) != nil {
		after := next(ord)
		t.toUnclaimed(after)
		t.changeActual(ord, after)
		return nil
	}
	suspect := next(ord)
	suspect.Presence = model.PresenceSuspect
	replacement := &model.ActualLRP{
		ActualLRPKey:    ord.ActualLRPKey,
		State:           model.StateUnclaimed,
		Presence:        model.PresenceOrdinary,
		Since:           t.now,
		ModificationTag: model.ModificationTag{Epoch: t.newEpoch()},
		Resources:       ord.Resources,
	}
	// The instance leaves the ORDINARY row before it appears as the
	// SUSPECT, so a consumer keyed by instance guid ends with it present.
	t.changeActual(ord, replacement)
	t.createActual(suspect)
	return nil
}

// applyPromoteSuspectActualLRP handles a suspect whose cell came back (spec
// §3 step 8): the ORDINARY replacement is deleted, whatever its state, and
// the SUSPECT becomes the ORDINARY row again.
func (t *applyTx) applyPromoteSuspectActualLRP(c model.PromoteSuspectActualLRP) *model.Error {
	suspect := t.actual(c.Key.ProcessGUID, c.Key.Index, model.PresenceSuspect)
	if suspect == nil {
		return model.Errorf(model.CodeNotFound, "suspect actual lrp %s not found", c.Key)
	}
	if cell := t.cell(suspect.CellID); cell == nil || !cell.Present() {
		return model.Errorf(model.CodeInvalidTransition, "suspect actual lrp %s: cell %s is not present", c.Key, suspect.CellID)
	}
	promoted := next(suspect)
	promoted.Presence = model.PresenceOrdinary
	ord := t.ordinary(c.Key)
	// The SUSPECT goes first, so a consumer keyed by instance guid ends
	// with the promoted instance present.
	t.removeActual(suspect)
	if ord != nil {
		t.changeActual(ord, promoted)
	} else {
		t.createActual(promoted)
	}
	return nil
}

// applyRetryPlacement clears the placement error of UNCLAIMED ORDINARY rows
// so the auction takes them again; other keys are skipped.
func (t *applyTx) applyRetryPlacement(c model.RetryPlacement) *model.Error {
	for _, key := range c.Keys {
		ord := t.ordinary(key)
		if ord == nil || ord.State != model.StateUnclaimed || ord.PlacementError == "" {
			continue
		}
		after := next(ord)
		after.PlacementError = ""
		after.Since = t.now
		t.changeActual(ord, after)
	}
	return nil
}
