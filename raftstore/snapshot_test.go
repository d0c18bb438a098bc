package raftstore

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/diegod/diegod/model"
	"github.com/hashicorp/raft"
	"github.com/rs/zerolog"
)

// memSink is a raft.SnapshotSink in memory.
type memSink struct {
	bytes.Buffer
	closed, cancelled bool
}

func (s *memSink) ID() string    { return "test" }
func (s *memSink) Close() error  { s.closed = true; return nil }
func (s *memSink) Cancel() error { s.cancelled = true; return nil }

// richState fills h with every kind of record and row.
func richState(t *testing.T, h *fsmHarness) {
	t.Helper()
	h.ok(model.UpsertCell{Cell: cell("c1", 4096)}, model.UpsertCell{Cell: cell("c2", 4096)},
		model.UpsertCell{Cell: cell("c3", 4096)})
	d := lrp("app", 5)
	d.Env = map[string]string{"A": "1"}
	d.Annotation = "note"
	d.HealthCheck = &model.HealthCheck{Type: model.HealthCheckHTTP, Port: 8080, Path: "/health"}
	h.ok(model.DesireLRP{LRP: d}, model.DesireLRP{LRP: lrp("other", 1)})
	h.advance(time.Second)
	h.running("app", 0, "i0", "c1")
	h.running("app", 1, "i1", "c2")
	h.ok(claim("app", 2, "i2", "c2"))
	h.ok(model.ClaimBatch{Failures: []model.PlacementFailure{{Key: key("app", 3), Error: "no room"}}})
	for i := 0; i < 3; i++ {
		h.running("app", 4, "i4", "c3")
		h.ok(model.CrashActualLRP{Key: key("app", 4), InstanceKey: ikey("i4", "c3"), Reason: "crash"})
	}
	h.ok(model.SetCellState{CellID: "c2", State: model.CellLost})
	h.ok(model.SuspectActualLRP{Key: key("app", 1)})
	h.ok(model.SetCellState{CellID: "c3", State: model.CellDraining})
}

type dump struct {
	Index   uint64
	Desired []model.DesiredLRP
	Actuals []model.ActualLRP
	Cells   []model.Cell
}

func dumpOf(v *View) dump {
	return dump{v.Index(), v.DesiredLRPs(), v.ActualLRPs(), v.Cells()}
}

func TestSnapshotRestoreRoundTrip(t *testing.T) {
	h := newHarness(t)
	richState(t, h)
	want := dumpOf(h.fsm.View())

	snap, err := h.fsm.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	// Changes after the snapshot is taken are not in it.
	h.ok(model.RemoveDesiredLRP{ProcessGUID: "app"})
	sink := &memSink{}
	if err := snap.Persist(sink); err != nil {
		t.Fatalf("persist: %v", err)
	}
	snap.Release()
	if !sink.closed || sink.cancelled {
		t.Fatalf("sink closed %v cancelled %v", sink.closed, sink.cancelled)
	}
	data := sink.Bytes()

	restored := NewFSM(nil, nil, zerolog.Nop())
	sub := restored.Hub().Subscribe(t.Context(), 10)
	if err := restored.Restore(io.NopCloser(bytes.NewReader(data))); err != nil {
		t.Fatalf("restore: %v", err)
	}
	got := dumpOf(restored.View())
	if !reflect.DeepEqual(got, want) {
		t.Errorf("round trip differs:\ngot  %+v\nwant %+v", got, want)
	}
	if restored.AppliedIndex() != want.Index {
		t.Errorf("applied index: got %d, want %d", restored.AppliedIndex(), want.Index)
	}
	if _, ok := <-sub; ok {
		t.Error("restore published events; want the subscription closed")
	}

	// The same state snapshots to the same bytes.
	snap2, _ := restored.Snapshot()
	sink2 := &memSink{}
	if err := snap2.Persist(sink2); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(sink2.Bytes(), data) {
		t.Error("snapshot of the restored state differs from the original snapshot")
	}

	// Applying the next entry to the restored FSM behaves like the original.
	idx := want.Index + 1
	out := restored.Apply(makeLog(t, idx, h.now, model.CrashActualLRP{Key: key("app", 0), InstanceKey: ikey("i0", "c1"), Reason: "x"}))
	if res := out.(entryResult); res[0] != nil {
		t.Errorf("apply after restore: %v", res[0])
	}
}

func TestRestoreRejectsBadSnapshots(t *testing.T) {
	h := newHarness(t)
	richState(t, h)
	snap, _ := h.fsm.Snapshot()
	sink := &memSink{}
	if err := snap.Persist(sink); err != nil {
		t.Fatal(err)
	}
	good := sink.String()
	lines := strings.SplitAfter(good, "\n")
	cases := map[string]string{
		"empty":         "",
		"bad header":    `{"format":"other","version":1,"index":3}` + "\n",
		"wrong version": strings.Replace(good, `"version":1`, `"version":2`, 1),
		"truncated":     strings.Join(lines[:len(lines)-3], ""),
		"no trailer":    strings.Join(lines[:len(lines)-2], ""),
		"garbage":       lines[0] + "{not json\n",
		"empty record":  lines[0] + "{}\n",
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			f := NewFSM(nil, nil, zerolog.Nop())
			f.Apply(makeLog(t, 1, t0, model.UpsertCell{Cell: cell("keep", 1)}))
			err := f.Restore(io.NopCloser(strings.NewReader(data)))
			if !errors.Is(err, ErrBadSnapshot) {
				t.Fatalf("got %v, want ErrBadSnapshot", err)
			}
			if _, ok := f.View().Cell("keep"); !ok || f.AppliedIndex() != 1 {
				t.Error("failed restore changed the state")
			}
		})
	}
}

func TestReplayChangesNothing(t *testing.T) {
	h := newHarness(t)
	richState(t, h)
	logs := []*raft.Log{
		makeLog(t, h.index+1, h.now, model.DesireLRP{LRP: lrp("new", 1)}),
		makeLog(t, h.index+2, h.now, claim("new", 0, "n0", "c1")),
	}
	h.fsm.ApplyBatch(logs)
	h.index += 2
	want := dumpOf(h.fsm.View())

	sub := h.fsm.Hub().Subscribe(t.Context(), 10)
	// Redeliver old entries: each would change the state if applied again.
	out := h.fsm.ApplyBatch(logs)
	for i, r := range out {
		if r != nil {
			t.Errorf("replayed entry %d: response %v, want nil", i, r)
		}
	}
	h.fsm.Apply(makeLog(t, 3, h.now, model.RemoveDesiredLRP{ProcessGUID: "app"}))
	if got := dumpOf(h.fsm.View()); !reflect.DeepEqual(got, want) {
		t.Errorf("replay changed the state")
	}
	select {
	case ev := <-sub:
		t.Errorf("replay published %v", eventTypes(ev))
	default:
	}

	// A batch mixing old and new entries applies only the new ones.
	mixed := append(logs, makeLog(t, h.index+1, h.now, model.RemoveDesiredLRP{ProcessGUID: "new"}))
	out = h.fsm.ApplyBatch(mixed)
	if out[0] != nil || out[1] != nil || out[2] == nil {
		t.Errorf("mixed batch responses: %v", out)
	}
	if _, ok := h.fsm.View().DesiredLRP("new"); ok {
		t.Error("new entry in mixed batch not applied")
	}
	if got := h.fsm.AppliedIndex(); got != h.index+1 {
		t.Errorf("applied index: got %d, want %d", got, h.index+1)
	}
}

func TestApplyBatchIsOneTransaction(t *testing.T) {
	h := newHarness(t)
	h.ok(model.UpsertCell{Cell: cell("c1", 4096)})
	sub := h.fsm.Hub().Subscribe(t.Context(), 10)
	// Two entries in one batch: the second sees the first's writes, and
	// each entry's events are published separately, in order.
	out := h.fsm.ApplyBatch([]*raft.Log{
		makeLog(t, 2, t0, model.DesireLRP{LRP: lrp("app", 1)}),
		makeLog(t, 3, t0.Add(time.Second), claim("app", 0, "i0", "c1"), model.StartActualLRP{
			Key: key("app", 0), InstanceKey: ikey("i0", "c1"), NetInfo: netInfo("h", 1)}),
	})
	for i, r := range out {
		for _, err := range r.(entryResult) {
			if err != nil {
				t.Errorf("entry %d: %v", i, err)
			}
		}
	}
	first, second := recv(t, sub), recv(t, sub)
	if first[0].Index != 2 || second[0].Index != 3 || len(second) != 2 {
		t.Errorf("events: %d then %d (%d events)", first[0].Index, second[0].Index, len(second))
	}
	row, _ := h.fsm.View().ActualLRP(key("app", 0), model.PresenceOrdinary)
	if row.State != model.StateRunning || !row.Since.Equal(t0.Add(time.Second)) || row.ModificationTag.Index != 2 {
		t.Errorf("row: %s since %v tag %+v", fmtRow(row), row.Since, row.ModificationTag)
	}
}
