package cell_test

import (
	"context"
	"io"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/diegod/diegod/cell"
	"github.com/diegod/diegod/cell/celltest"
	"github.com/diegod/diegod/model"
)

// drainSource is a FakeSource whose cell record state a test sets.
type drainSource struct {
	*celltest.FakeSource
	mu    sync.Mutex
	state model.CellState
}

var _ cell.CellStateSource = (*drainSource)(nil)

func (s *drainSource) CellState(string) (model.CellState, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state, true
}

func (s *drainSource) setState(st model.CellState) {
	s.mu.Lock()
	s.state = st
	s.mu.Unlock()
	s.Update(func(rows []model.ActualLRP) []model.ActualLRP { return rows }) // wake the cell
}

func running(row model.ActualLRP, s model.StartActualLRP) model.ActualLRP {
	row.State = model.StateRunning
	row.ActualLRPNetInfo = s.NetInfo
	return row
}

func TestCellEvacuatesWhenDraining(t *testing.T) {
	src := &drainSource{FakeSource: celltest.NewFakeSource(), state: model.CellAlive}
	rt, rep := celltest.NewFakeRuntime(), celltest.NewFakeReporter()
	c, err := cell.New(testConfig(), rt, src, rep, zerolog.New(io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	web0, web1 := claimed("web", 0, "inst-0"), claimed("web", 1, "inst-1")
	src.Set([]model.ActualLRP{web0}, lrp("web", nil, nil))
	waitFor(t, 10*time.Second, "start report", func() bool { return len(starts(&harness{rep: rep})) == 1 })
	web0 = running(web0, starts(&harness{rep: rep})[0])
	// inst-1 never becomes healthy: it stays CLAIMED.
	slow := lrp("slow", map[string]string{celltest.EnvStartDelay: "1h"}, nil)
	web1.ProcessGUID = "slow"
	src.Set([]model.ActualLRP{web0, web1}, slow)
	waitFor(t, 10*time.Second, "inst-1 container", func() bool { _, ok := rt.Container("inst-1"); return ok })

	src.setState(model.CellDraining)
	evacs := func() []model.EvacuateRunningActualLRP {
		return celltest.CommandsOf[model.EvacuateRunningActualLRP](rep)
	}
	unclaims := func() []model.UnclaimActualLRP { return celltest.CommandsOf[model.UnclaimActualLRP](rep) }
	waitFor(t, 10*time.Second, "evacuation reports", func() bool { return len(evacs()) == 1 && len(unclaims()) == 1 })
	if got, want := evacs()[0], (model.EvacuateRunningActualLRP{Key: web0.ActualLRPKey, InstanceKey: web0.ActualLRPInstanceKey}); !reflect.DeepEqual(got, want) {
		t.Errorf("evacuate: got %+v, want %+v", got, want)
	}
	if got := unclaims()[0]; got.Key != web1.ActualLRPKey || got.InstanceKey != web1.ActualLRPInstanceKey {
		t.Errorf("unclaim: got %+v, want %s on inst-1", got, web1.ActualLRPKey)
	}

	// The store applies both: web/0 is an EVACUATING copy on this cell, the
	// slow row left the cell. The copy keeps running; the unclaimed one stops.
	evac := web0
	evac.Presence = model.PresenceEvacuating
	src.Set([]model.ActualLRP{evac})
	waitFor(t, 10*time.Second, "inst-1 stopped", func() bool { _, ok := rt.Container("inst-1"); return !ok })
	if _, ok := rt.Container("inst-0"); !ok {
		t.Fatal("the evacuating instance was stopped before its replacement ran")
	}
	// The replacement runs elsewhere: the store deletes the copy.
	src.Set(nil)
	waitFor(t, 10*time.Second, "inst-0 stopped", func() bool { _, ok := rt.Container("inst-0"); return !ok })
	if n := len(evacs()); n != 1 {
		t.Errorf("evacuation reports: got %d, want 1", n)
	}
}

func TestEvacuationPlan(t *testing.T) {
	row := func(guid string, state model.ActualLRPState, p model.Presence) model.ActualLRP {
		r := claimed(guid, 0, "i-"+guid)
		r.State, r.Presence = state, p
		return r
	}
	active := func(guids ...string) map[string]cell.Observed {
		m := map[string]cell.Observed{}
		for _, g := range guids {
			m["i-"+g] = cell.Observed{Key: model.ActualLRPKey{ProcessGUID: g, Domain: "default"}, InstanceGUID: "i-" + g}
		}
		return m
	}
	tests := []struct {
		name     string
		rows     []model.ActualLRP
		observed map[string]cell.Observed
		want     []string // command names
	}{
		{"running evacuates", []model.ActualLRP{row("a", model.StateRunning, model.PresenceOrdinary)}, active("a"), []string{"evacuate_running_actual_lrp"}},
		{"claimed unclaims", []model.ActualLRP{row("a", model.StateClaimed, model.PresenceOrdinary)}, active("a"), []string{"unclaim_actual_lrp"}},
		{"evacuating copy left alone", []model.ActualLRP{row("a", model.StateRunning, model.PresenceEvacuating)}, active("a"), nil},
		{"suspect left alone", []model.ActualLRP{row("a", model.StateRunning, model.PresenceSuspect)}, active("a"), nil},
		{"no container", []model.ActualLRP{row("a", model.StateRunning, model.PresenceOrdinary)}, nil, nil},
		{"stopping container", []model.ActualLRP{row("a", model.StateRunning, model.PresenceOrdinary)},
			map[string]cell.Observed{"i-a": {Key: model.ActualLRPKey{ProcessGUID: "a"}, InstanceGUID: "i-a", Phase: cell.PhaseStopping}}, nil},
		{"two rows", []model.ActualLRP{row("a", model.StateRunning, model.PresenceOrdinary), row("b", model.StateClaimed, model.PresenceOrdinary)},
			active("a", "b"), []string{"evacuate_running_actual_lrp", "unclaim_actual_lrp"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, e := range cell.EvacuationPlan(tt.rows, tt.observed, cellID) {
				got = append(got, e.Command.CommandName())
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}
