package raftstore

import (
	"strings"
	"testing"
	"time"

	"github.com/diegod/diegod/model"
)

// setup returns a harness with ALIVE cells c1 and c2 and "app" desired with
// n instances.
func setup(t *testing.T, n int) *fsmHarness {
	t.Helper()
	h := newHarness(t)
	h.ok(model.UpsertCell{Cell: cell("c1", 4096)}, model.UpsertCell{Cell: cell("c2", 4096)},
		model.DesireLRP{LRP: lrp("app", n)})
	return h
}

func TestStartActualLRP(t *testing.T) {
	h := setup(t, 1)
	h.ok(claim("app", 0, "i0", "c1"))
	claimed := h.ord("app", 0)
	h.advance(time.Second)
	ni := netInfo("192.168.1.10", 61000)
	h.ok(model.StartActualLRP{Key: key("app", 0), InstanceKey: ikey("i0", "c1"), NetInfo: ni})
	got := h.ord("app", 0)
	if got.State != model.StateRunning || got.InstanceGUID != "i0" || got.CellID != "c1" || !got.Since.Equal(h.now) {
		t.Fatalf("after start: %s since %v", fmtRow(got), got.Since)
	}
	if !netInfoEqual(got.ActualLRPNetInfo, ni) {
		t.Errorf("net info: got %+v, want %+v", got.ActualLRPNetInfo, ni)
	}
	if got.ModificationTag.Index != claimed.ModificationTag.Index+1 || got.ModificationTag.Epoch != claimed.ModificationTag.Epoch {
		t.Errorf("tag: got %+v after %+v", got.ModificationTag, claimed.ModificationTag)
	}
	if err := got.Validate(); err != nil {
		t.Errorf("running row invalid: %v", err)
	}

	// An identical heartbeat changes nothing.
	h.advance(30 * time.Second)
	h.ok(model.StartActualLRP{Key: key("app", 0), InstanceKey: ikey("i0", "c1"), NetInfo: ni})
	if again := h.ord("app", 0); again.ModificationTag != got.ModificationTag || !again.Since.Equal(got.Since) {
		t.Errorf("heartbeat changed the row: %+v since %v", again.ModificationTag, again.Since)
	}

	// A heartbeat with new net info updates it but keeps Since.
	ni2 := netInfo("192.168.1.10", 61001)
	h.ok(model.StartActualLRP{Key: key("app", 0), InstanceKey: ikey("i0", "c1"), NetInfo: ni2})
	upd := h.ord("app", 0)
	if !netInfoEqual(upd.ActualLRPNetInfo, ni2) || !upd.Since.Equal(got.Since) || upd.ModificationTag.Index != got.ModificationTag.Index+1 {
		t.Errorf("net info update: %+v since %v tag %+v", upd.ActualLRPNetInfo, upd.Since, upd.ModificationTag)
	}
}

func TestStartActualLRPFromUnclaimedAndPlacementError(t *testing.T) {
	h := setup(t, 1)
	h.ok(model.ClaimBatch{Failures: []model.PlacementFailure{{Key: key("app", 0), Error: "no cell"}}})
	h.ok(model.StartActualLRP{Key: key("app", 0), InstanceKey: ikey("ix", "c2"), NetInfo: netInfo("h", 1)})
	got := h.ord("app", 0)
	if got.State != model.StateRunning || got.CellID != "c2" || got.PlacementError != "" {
		t.Errorf("start from UNCLAIMED: %s", fmtRow(got))
	}
}

func TestStartActualLRPRejections(t *testing.T) {
	h := setup(t, 2)
	h.running("app", 0, "i0", "c1")
	h.reject(model.StartActualLRP{Key: key("app", 0), InstanceKey: ikey("other", "c2"), NetInfo: netInfo("h", 1)},
		model.CodeInvalidTransition)
	h.reject(model.StartActualLRP{Key: key("app", 9), InstanceKey: ikey("i9", "c1"), NetInfo: netInfo("h", 1)},
		model.CodeNotFound)
	h.reject(model.StartActualLRP{Key: key("nope", 0), InstanceKey: ikey("i9", "c1"), NetInfo: netInfo("h", 1)},
		model.CodeNotFound)
	h.reject(model.StartActualLRP{Key: key("app", 1), InstanceKey: ikey("i1", "c1")}, model.CodeInvalidRequest)
	h.reject(model.StartActualLRP{Key: key("app", 1), NetInfo: netInfo("h", 1)}, model.CodeInvalidRequest)

	// A CRASHED row (empty instance key) cannot be started by an instance.
	for i := 0; i < 3; i++ {
		h.running("app", 1, "i1", "c1")
		h.ok(model.CrashActualLRP{Key: key("app", 1), InstanceKey: ikey("i1", "c1"), Reason: "boom"})
	}
	if got := h.ord("app", 1); got.State != model.StateCrashed {
		t.Fatalf("setup: got %s, want CRASHED", fmtRow(got))
	}
	h.reject(model.StartActualLRP{Key: key("app", 1), InstanceKey: ikey("i1", "c1"), NetInfo: netInfo("h", 1)},
		model.CodeInvalidTransition)
	if got := h.ord("app", 0); got.InstanceGUID != "i0" || got.State != model.StateRunning {
		t.Errorf("rejected start changed the row: %s", fmtRow(got))
	}
}

// suspectSetup runs app/0 on c1 as i0, loses c1 and suspects the row.
func suspectSetup(t *testing.T) *fsmHarness {
	t.Helper()
	h := setup(t, 1)
	h.running("app", 0, "i0", "c1")
	h.ok(model.SetCellState{CellID: "c1", State: model.CellLost})
	h.ok(model.SuspectActualLRP{Key: key("app", 0)})
	return h
}

func TestStartReplacementDeletesSuspect(t *testing.T) {
	h := suspectSetup(t)
	h.running("app", 0, "r0", "c2")
	h.noRow("app", 0, model.PresenceSuspect)
	if got := h.ord("app", 0); got.InstanceGUID != "r0" || got.State != model.StateRunning {
		t.Errorf("replacement: %s", fmtRow(got))
	}
}

func TestStartFromSuspectIsHeartbeat(t *testing.T) {
	h := suspectSetup(t)
	before := h.row("app", 0, model.PresenceSuspect)
	// Same net info: nothing changes, and the UNCLAIMED replacement is not
	// taken over by the suspect instance.
	h.ok(model.StartActualLRP{Key: key("app", 0), InstanceKey: ikey("i0", "c1"), NetInfo: before.ActualLRPNetInfo})
	if got := h.row("app", 0, model.PresenceSuspect); got.ModificationTag != before.ModificationTag {
		t.Errorf("identical suspect heartbeat changed the row: %+v", got.ModificationTag)
	}
	if got := h.ord("app", 0); got.State != model.StateUnclaimed {
		t.Errorf("replacement: got %s, want UNCLAIMED", fmtRow(got))
	}
	// New net info is recorded on the suspect row.
	ni := netInfo("192.168.1.99", 62000)
	h.ok(model.StartActualLRP{Key: key("app", 0), InstanceKey: ikey("i0", "c1"), NetInfo: ni})
	got := h.row("app", 0, model.PresenceSuspect)
	if !netInfoEqual(got.ActualLRPNetInfo, ni) || got.ModificationTag.Index != before.ModificationTag.Index+1 {
		t.Errorf("suspect heartbeat: %+v tag %+v", got.ActualLRPNetInfo, got.ModificationTag)
	}
}

func TestCrashRestartPolicy(t *testing.T) {
	h := setup(t, 1)
	wantStates := []model.ActualLRPState{model.StateUnclaimed, model.StateUnclaimed, model.StateCrashed}
	for i, want := range wantStates {
		h.running("app", 0, "i0", "c1")
		h.advance(time.Minute)
		before := h.ord("app", 0)
		h.ok(model.CrashActualLRP{Key: key("app", 0), InstanceKey: ikey("i0", "c1"), Reason: "Exited with status 1"})
		got := h.ord("app", 0)
		if got.State != want || got.CrashCount != i+1 {
			t.Fatalf("crash %d: got %s, want %s count %d", i+1, fmtRow(got), want, i+1)
		}
		if !got.ActualLRPInstanceKey.Empty() || !got.ActualLRPNetInfo.Empty() || got.CrashReason != "Exited with status 1" {
			t.Errorf("crash %d: instance %+v net %+v reason %q", i+1, got.ActualLRPInstanceKey, got.ActualLRPNetInfo, got.CrashReason)
		}
		if !got.Since.Equal(h.now) || got.ModificationTag.Index != before.ModificationTag.Index+1 {
			t.Errorf("crash %d: since %v tag %+v", i+1, got.Since, got.ModificationTag)
		}
		if err := got.Validate(); err != nil {
			t.Errorf("crash %d: invalid row: %v", i+1, err)
		}
	}
	// Convergence restarts the CRASHED row once its backoff passed.
	h.ok(model.UnclaimActualLRP{Key: key("app", 0)})
	got := h.ord("app", 0)
	if got.State != model.StateUnclaimed || got.CrashCount != 3 || got.CrashReason == "" {
		t.Errorf("unclaim crashed: %s reason %q", fmtRow(got), got.CrashReason)
	}
}

func TestCrashAfterLongRunResetsCount(t *testing.T) {
	h := setup(t, 1)
	for i := 0; i < 2; i++ {
		h.running("app", 0, "i0", "c1")
		h.ok(model.CrashActualLRP{Key: key("app", 0), InstanceKey: ikey("i0", "c1"), Reason: "x"})
	}
	h.running("app", 0, "i0", "c1")
	h.advance(model.CrashResetTimeout + time.Second)
	long := strings.Repeat("r", 3000)
	h.ok(model.CrashActualLRP{Key: key("app", 0), InstanceKey: ikey("i0", "c1"), Reason: long})
	got := h.ord("app", 0)
	if got.CrashCount != 1 || got.State != model.StateUnclaimed {
		t.Errorf("crash after >5m running: got %s, want count 1 UNCLAIMED", fmtRow(got))
	}
	if len(got.CrashReason) != model.MaxReasonSize {
		t.Errorf("crash reason: %d bytes, want %d", len(got.CrashReason), model.MaxReasonSize)
	}
}

func TestCrashOfClaimedAndRejections(t *testing.T) {
	h := setup(t, 2)
	h.ok(claim("app", 0, "i0", "c1"))
	h.ok(model.CrashActualLRP{Key: key("app", 0), InstanceKey: ikey("i0", "c1"), Reason: "create failed"})
	if got := h.ord("app", 0); got.State != model.StateUnclaimed || got.CrashCount != 1 {
		t.Errorf("crash of CLAIMED: %s", fmtRow(got))
	}
	h.reject(model.CrashActualLRP{Key: key("app", 9), InstanceKey: ikey("i9", "c1")}, model.CodeNotFound)
	h.reject(model.CrashActualLRP{Key: key("app", 1), InstanceKey: ikey("i1", "c1")}, model.CodeInvalidTransition)
	h.reject(model.CrashActualLRP{Key: key("app", 1)}, model.CodeInvalidTransition)
	h.running("app", 1, "i1", "c1")
	h.reject(model.CrashActualLRP{Key: key("app", 1), InstanceKey: ikey("other", "c1")}, model.CodeInvalidTransition)
	if got := h.ord("app", 1); got.State != model.StateRunning || got.CrashCount != 0 {
		t.Errorf("rejected crash changed the row: %s", fmtRow(got))
	}
}

func TestCrashOfSuspectDeletesIt(t *testing.T) {
	h := suspectSetup(t)
	ord := h.ord("app", 0)
	h.ok(model.CrashActualLRP{Key: key("app", 0), InstanceKey: ikey("i0", "c1"), Reason: "x"})
	h.noRow("app", 0, model.PresenceSuspect)
	if got := h.ord("app", 0); got.ModificationTag != ord.ModificationTag {
		t.Errorf("ordinary row changed: %s", fmtRow(got))
	}
}

func TestRemoveActualLRP(t *testing.T) {
	h := suspectSetup(t)
	h.reject(model.RemoveActualLRP{Key: key("app", 0), InstanceKey: ikey("other", "c1")}, model.CodeNotFound)
	h.reject(model.RemoveActualLRP{Key: key("app", 0)}, model.CodeInvalidRequest)
	h.ok(model.RemoveActualLRP{Key: key("app", 0), InstanceKey: ikey("i0", "c1")})
	h.noRow("app", 0, model.PresenceSuspect)
	h.ord("app", 0)

	h.running("app", 0, "r0", "c2")
	h.ok(model.RemoveActualLRP{Key: key("app", 0), InstanceKey: ikey("r0", "c2")})
	h.noRow("app", 0, model.PresenceOrdinary)
}

func TestUnclaimActualLRP(t *testing.T) {
	h := setup(t, 1)
	h.reject(model.UnclaimActualLRP{Key: key("app", 5)}, model.CodeNotFound)
	h.reject(model.UnclaimActualLRP{Key: key("app", 0)}, model.CodeInvalidTransition) // UNCLAIMED, not CRASHED
	h.running("app", 0, "i0", "c1")
	h.reject(model.UnclaimActualLRP{Key: key("app", 0)}, model.CodeInvalidTransition) // RUNNING, empty key
	h.reject(model.UnclaimActualLRP{Key: key("app", 0), InstanceKey: ikey("other", "c1")}, model.CodeInvalidTransition)
	h.advance(time.Second)
	h.ok(model.UnclaimActualLRP{Key: key("app", 0), InstanceKey: ikey("i0", "c1")})
	got := h.ord("app", 0)
	if got.State != model.StateUnclaimed || !got.ActualLRPInstanceKey.Empty() || !got.ActualLRPNetInfo.Empty() || !got.Since.Equal(h.now) {
		t.Errorf("unclaim RUNNING: %s since %v", fmtRow(got), got.Since)
	}
	// CLAIMED works too.
	h.ok(claim("app", 0, "i1", "c2"))
	h.ok(model.UnclaimActualLRP{Key: key("app", 0), InstanceKey: ikey("i1", "c2")})
	if got := h.ord("app", 0); got.State != model.StateUnclaimed {
		t.Errorf("unclaim CLAIMED: %s", fmtRow(got))
	}
}

func TestRetireActualLRP(t *testing.T) {
	h := suspectSetup(t)
	h.reject(model.RetireActualLRP{Key: key("app", 0), Presence: model.PresenceEvacuating}, model.CodeNotFound)
	h.ok(model.RetireActualLRP{Key: key("app", 0), Presence: model.PresenceSuspect})
	h.noRow("app", 0, model.PresenceSuspect)
	h.ord("app", 0)
	h.ok(model.RetireActualLRP{Key: key("app", 0), Presence: model.PresenceOrdinary})
	h.noRow("app", 0, model.PresenceOrdinary)
	h.reject(model.RetireActualLRP{Key: key("app", 0), Presence: model.PresenceOrdinary}, model.CodeNotFound)
}

func TestSuspectRunning(t *testing.T) {
	h := setup(t, 1)
	h.running("app", 0, "i0", "c1")
	h.reject(model.SuspectActualLRP{Key: key("app", 0)}, model.CodeInvalidTransition) // c1 is ALIVE
	h.ok(model.SetCellState{CellID: "c1", State: model.CellDraining})
	h.reject(model.SuspectActualLRP{Key: key("app", 0)}, model.CodeInvalidTransition) // DRAINING is present
	h.ok(model.SetCellState{CellID: "c1", State: model.CellLost})
	before := h.ord("app", 0)
	h.advance(time.Minute)
	h.ok(model.SuspectActualLRP{Key: key("app", 0)})

	sus := h.row("app", 0, model.PresenceSuspect)
	if sus.State != model.StateRunning || sus.InstanceGUID != "i0" || sus.CellID != "c1" || !netInfoEqual(sus.ActualLRPNetInfo, before.ActualLRPNetInfo) {
		t.Errorf("suspect: %s net %+v", fmtRow(sus), sus.ActualLRPNetInfo)
	}
	if !sus.Since.Equal(before.Since) || sus.ModificationTag.Epoch != before.ModificationTag.Epoch {
		t.Errorf("suspect keeps since and epoch: %v %+v, was %v %+v", sus.Since, sus.ModificationTag, before.Since, before.ModificationTag)
	}
	ord := h.ord("app", 0)
	if ord.State != model.StateUnclaimed || !ord.Since.Equal(h.now) || ord.ModificationTag.Epoch == before.ModificationTag.Epoch {
		t.Errorf("replacement: %s since %v tag %+v", fmtRow(ord), ord.Since, ord.ModificationTag)
	}
	if ord.Resources != before.Resources {
		t.Errorf("replacement resources: %+v, want %+v", ord.Resources, before.Resources)
	}
	// The suspect is still routed: it counts on c1.
	if got := h.fsm.View().ActualLRPsByCell("c1"); len(got) != 1 || got[0].Presence != model.PresenceSuspect {
		t.Errorf("rows on c1: %v", got)
	}
	h.reject(model.SuspectActualLRP{Key: key("app", 0)}, model.CodeInvalidTransition) // replacement is UNCLAIMED

	// The replacement is claimed on c2, which is lost too: with a suspect
	// already there it is simply unclaimed.
	h.ok(claim("app", 0, "r0", "c2"), model.SetCellState{CellID: "c2", State: model.CellLost})
	h.ok(model.SuspectActualLRP{Key: key("app", 0)})
	if got := h.ord("app", 0); got.State != model.StateUnclaimed {
		t.Errorf("second suspect: ordinary %s", fmtRow(got))
	}
	if got := h.row("app", 0, model.PresenceSuspect); got.InstanceGUID != "i0" {
		t.Errorf("second suspect replaced the first: %s", fmtRow(got))
	}
}

func TestSuspectClaimedAndUnknownCell(t *testing.T) {
	h := setup(t, 2)
	h.reject(model.SuspectActualLRP{Key: key("app", 7)}, model.CodeNotFound)
	h.ok(claim("app", 0, "i0", "c1"))
	h.running("app", 1, "i1", "c1")
	h.ok(model.RemoveCell{CellID: "c1"})
	h.ok(model.SuspectActualLRP{Key: key("app", 0)}, model.SuspectActualLRP{Key: key("app", 1)})
	if got := h.ord("app", 0); got.State != model.StateUnclaimed {
		t.Errorf("CLAIMED on unknown cell: %s", fmtRow(got))
	}
	h.noRow("app", 0, model.PresenceSuspect)
	h.row("app", 1, model.PresenceSuspect)
}

func TestPromoteSuspect(t *testing.T) {
	h := suspectSetup(t)
	h.reject(model.PromoteSuspectActualLRP{Key: key("app", 0)}, model.CodeInvalidTransition) // c1 still LOST
	h.reject(model.PromoteSuspectActualLRP{Key: key("app", 3)}, model.CodeNotFound)
	h.ok(claim("app", 0, "r0", "c2"))
	sus := h.row("app", 0, model.PresenceSuspect)
	h.ok(model.SetCellState{CellID: "c1", State: model.CellAlive})
	h.ok(model.PromoteSuspectActualLRP{Key: key("app", 0)})
	h.noRow("app", 0, model.PresenceSuspect)
	got := h.ord("app", 0)
	if got.State != model.StateRunning || got.InstanceGUID != "i0" || got.CellID != "c1" {
		t.Errorf("promoted: %s", fmtRow(got))
	}
	if got.ModificationTag.Epoch != sus.ModificationTag.Epoch || got.ModificationTag.Index != sus.ModificationTag.Index+1 {
		t.Errorf("promoted tag: %+v, suspect had %+v", got.ModificationTag, sus.ModificationTag)
	}
	if got := h.fsm.View().ActualLRPsByCell("c2"); len(got) != 0 {
		t.Errorf("replacement still on c2: %v", got)
	}
}

func TestRetryPlacement(t *testing.T) {
	h := setup(t, 3)
	h.ok(model.ClaimBatch{Failures: []model.PlacementFailure{{Key: key("app", 0), Error: "no room"}}})
	h.ok(claim("app", 2, "i2", "c1"))
	unchanged1 := h.ord("app", 1)
	unchanged2 := h.ord("app", 2)
	h.advance(time.Minute)
	h.ok(model.RetryPlacement{Keys: []model.ActualLRPKey{key("app", 0), key("app", 1), key("app", 2), key("nope", 0)}})
	if got := h.ord("app", 0); got.PlacementError != "" || !got.Since.Equal(h.now) || got.State != model.StateUnclaimed {
		t.Errorf("retried row: %s since %v", fmtRow(got), got.Since)
	}
	if got := h.ord("app", 1); got.ModificationTag != unchanged1.ModificationTag {
		t.Errorf("row without error changed: %s", fmtRow(got))
	}
	if got := h.ord("app", 2); got.ModificationTag != unchanged2.ModificationTag {
		t.Errorf("claimed row changed: %s", fmtRow(got))
	}
}

// put stores a row directly, bypassing the commands (to build states the
// commands only reach through races).
func (h *fsmHarness) put(row model.ActualLRP) {
	h.t.Helper()
	txn := h.fsm.db.Load().Txn(true)
	must(txn.Insert(tableActual, &row))
	txn.Commit()
	h.fsm.rows[rowKeyOf(&row)] = &row
}

func TestSuspectWithExistingSuspectOnlyUnclaims(t *testing.T) {
	h := suspectSetup(t)
	// The replacement got RUNNING on c2 without removing the suspect (as
	// if the two reports raced), then c2 is lost as well.
	ord := h.ord("app", 0)
	ord.State = model.StateRunning
	ord.ActualLRPInstanceKey = ikey("r0", "c2")
	ord.ActualLRPNetInfo = netInfo("h2", 2)
	h.put(ord)
	h.ok(model.SetCellState{CellID: "c2", State: model.CellLost})
	h.ok(model.SuspectActualLRP{Key: key("app", 0)})
	if got := h.row("app", 0, model.PresenceSuspect); got.InstanceGUID != "i0" {
		t.Errorf("existing suspect replaced: %s", fmtRow(got))
	}
	if got := h.ord("app", 0); got.State != model.StateUnclaimed {
		t.Errorf("ordinary: %s, want UNCLAIMED", fmtRow(got))
	}
}
