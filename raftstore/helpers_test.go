package raftstore

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/diegod/diegod/model"
	"github.com/hashicorp/raft"
	"github.com/rs/zerolog"
)

// t0 is the timestamp of the first test entry.
var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// fsmHarness drives an FSM with hand-built log entries.
type fsmHarness struct {
	t     testing.TB
	fsm   *FSM
	index uint64
	now   time.Time
}

func newHarness(t testing.TB) *fsmHarness {
	t.Helper()
	h := &fsmHarness{t: t, fsm: NewFSM(nil, nil, zerolog.Nop()), now: t0}
	t.Cleanup(func() { checkConsistency(t, h.fsm) })
	return h
}

// checkConsistency verifies the FSM's invariants after a test: the writer's
// row index mirrors the actual_lrps table, every row passes the model's
// per-state validation, and at most one row exists per (key, presence).
func checkConsistency(t testing.TB, f *FSM) {
	t.Helper()
	want := buildRowIndex(f.db.Load().Txn(false))
	if len(want) != len(f.rows) {
		t.Errorf("consistency: row index has %d rows, table has %d", len(f.rows), len(want))
	}
	for k, row := range want {
		if f.rows[k] != row {
			t.Errorf("consistency: row index entry %v is %+v, table has %+v", k, f.rows[k], row)
		}
		if err := row.Validate(); err != nil {
			t.Errorf("consistency: row %s invalid: %v", fmtRow(*row), err)
		}
	}
}

// makeLog encodes cmds into a command entry at index, stamped now.
func makeLog(t testing.TB, index uint64, now time.Time, cmds ...model.Command) *raft.Log {
	t.Helper()
	data, err := Encode(now, cmds...)
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	return &raft.Log{Index: index, Term: 1, Type: raft.LogCommand, Data: data}
}

// apply applies cmds as the next entry and returns one result per command.
func (h *fsmHarness) apply(cmds ...model.Command) []error {
	h.t.Helper()
	h.index++
	out := h.fsm.Apply(makeLog(h.t, h.index, h.now, cmds...))
	res, ok := out.(entryResult)
	if !ok {
		h.t.Fatalf("apply index %d: response %T, want entryResult", h.index, out)
	}
	if len(res) != len(cmds) {
		h.t.Fatalf("apply index %d: %d results for %d commands", h.index, len(res), len(cmds))
	}
	return res
}

// ok applies cmds as one entry and fails the test on any rejection.
func (h *fsmHarness) ok(cmds ...model.Command) {
	h.t.Helper()
	for i, err := range h.apply(cmds...) {
		if err != nil {
			h.t.Fatalf("command %d (%s): unexpected rejection: %v", i, cmds[i].CommandName(), err)
		}
	}
}

// reject applies cmd and checks it is rejected with code.
func (h *fsmHarness) reject(cmd model.Command, code model.Code) error {
	h.t.Helper()
	err := h.apply(cmd)[0]
	if got := model.CodeOf(err); got != code {
		h.t.Fatalf("%s: got code %q (%v), want %q", cmd.CommandName(), got, err, code)
	}
	var me *model.Error
	if !errors.As(err, &me) {
		h.t.Fatalf("%s: error %T is not a *model.Error", cmd.CommandName(), err)
	}
	return err
}

// advance moves the entry clock.
func (h *fsmHarness) advance(d time.Duration) { h.now = h.now.Add(d) }

// row returns the row of guid/index with presence, failing if absent.
func (h *fsmHarness) row(guid string, index int, p model.Presence) model.ActualLRP {
	h.t.Helper()
	a, ok := h.fsm.View().ActualLRP(model.ActualLRPKey{ProcessGUID: guid, Index: index}, p)
	if !ok {
		h.t.Fatalf("row %s/%d %s: missing", guid, index, p)
	}
	return a
}

// ord returns the ORDINARY row of guid/index.
func (h *fsmHarness) ord(guid string, index int) model.ActualLRP {
	h.t.Helper()
	return h.row(guid, index, model.PresenceOrdinary)
}

func (h *fsmHarness) noRow(guid string, index int, p model.Presence) {
	h.t.Helper()
	if a, ok := h.fsm.View().ActualLRP(model.ActualLRPKey{ProcessGUID: guid, Index: index}, p); ok {
		h.t.Fatalf("row %s/%d %s: got %+v, want none", guid, index, p, a)
	}
}

// lrp returns a valid DesiredLRP.
func lrp(guid string, instances int) model.DesiredLRP {
	return model.DesiredLRP{
		ProcessGUID: guid,
		Instances:   instances,
		MemoryMB:    128,
		DiskMB:      256,
		Action:      &model.Action{Run: &model.RunAction{Path: "/bin/sleep", Args: []string{"1000"}}},
		Ports:       []uint16{8080},
		Routes:      []string{guid + ".example.com"},
	}
}

// cell returns an ALIVE cell with memMB of memory.
func cell(id string, memMB int) model.Cell {
	return model.Cell{
		CellID:          id,
		Zone:            "z1",
		Capacity:        model.Resources{MemoryMB: memMB, DiskMB: 100 * memMB, Containers: 250},
		RootFSProviders: []string{"host"},
	}
}

func key(guid string, index int) model.ActualLRPKey {
	return model.ActualLRPKey{ProcessGUID: guid, Index: index}
}

func ikey(instance, cellID string) model.ActualLRPInstanceKey {
	return model.ActualLRPInstanceKey{InstanceGUID: instance, CellID: cellID}
}

func netInfo(addr string, hostPort uint16) model.ActualLRPNetInfo {
	return model.ActualLRPNetInfo{
		Address:         addr,
		Ports:           []model.PortMapping{{ContainerPort: 8080, HostPort: hostPort}},
		InstanceAddress: "10.0.0.1",
	}
}

// claim places guid/index on cellID under instance.
func claim(guid string, index int, instance, cellID string) model.ClaimBatch {
	return model.ClaimBatch{Placements: []model.Placement{{Key: key(guid, index), InstanceKey: ikey(instance, cellID)}}}
}

// running brings guid/index to RUNNING on cellID under instance.
func (h *fsmHarness) running(guid string, index int, instance, cellID string) {
	h.t.Helper()
	h.ok(claim(guid, index, instance, cellID))
	if got := h.ord(guid, index); got.State != model.StateClaimed || got.InstanceGUID != instance {
		h.t.Fatalf("claim %s/%d: got %s %q, want CLAIMED %q", guid, index, got.State, got.InstanceGUID, instance)
	}
	h.ok(model.StartActualLRP{Key: key(guid, index), InstanceKey: ikey(instance, cellID), NetInfo: netInfo("192.168.1.10", 61000)})
}

// eventTypes lists the types of events.
func eventTypes(events []model.Event) []model.EventType {
	out := make([]model.EventType, len(events))
	for i, e := range events {
		out[i] = e.Type
	}
	return out
}

// waitFor polls cond until it holds or timeout passes.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func fmtRow(a model.ActualLRP) string {
	return fmt.Sprintf("%s/%d %s %s ik=%q/%q crash=%d pe=%q", a.ProcessGUID, a.Index, a.Presence, a.State,
		a.InstanceGUID, a.CellID, a.CrashCount, a.PlacementError)
}
