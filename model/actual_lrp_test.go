package model

import (
	"testing"
	"time"
)

func TestAllowsTransitionTo(t *testing.T) {
	key := ActualLRPKey{ProcessGUID: "app", Index: 0}
	mine := ActualLRPInstanceKey{InstanceGUID: "i-1", CellID: "cell-1"}
	other := ActualLRPInstanceKey{InstanceGUID: "i-2", CellID: "cell-2"}
	empty := ActualLRPInstanceKey{}
	states := []ActualLRPState{StateUnclaimed, StateClaimed, StateRunning, StateCrashed}
	// want[from][instance key][to], from Diego's table (spec §1.2).
	type keyCase struct {
		name string
		key  ActualLRPInstanceKey
	}
	keys := []keyCase{{"same", mine}, {"other", other}, {"empty", empty}}
	want := map[ActualLRPState]map[string]map[ActualLRPState]bool{
		StateUnclaimed: {
			"same":  {StateUnclaimed: true, StateClaimed: true, StateRunning: true, StateCrashed: false},
			"other": {StateUnclaimed: true, StateClaimed: true, StateRunning: true, StateCrashed: false},
			"empty": {StateUnclaimed: true, StateClaimed: true, StateRunning: true, StateCrashed: false},
		},
		StateClaimed: {
			"same":  {StateUnclaimed: false, StateClaimed: true, StateRunning: true, StateCrashed: true},
			"other": {StateUnclaimed: false, StateClaimed: false, StateRunning: true, StateCrashed: false},
			"empty": {StateUnclaimed: true, StateClaimed: false, StateRunning: true, StateCrashed: false},
		},
		StateRunning: {
			"same":  {StateUnclaimed: false, StateClaimed: true, StateRunning: true, StateCrashed: true},
			"other": {StateUnclaimed: false, StateClaimed: false, StateRunning: false, StateCrashed: false},
			"empty": {StateUnclaimed: true, StateClaimed: false, StateRunning: false, StateCrashed: false},
		},
		// A CRASHED row has an empty instance key, so "the same key" is
		// the empty one.
		StateCrashed: {
			"same":  {StateUnclaimed: false, StateClaimed: false, StateRunning: false, StateCrashed: false},
			"other": {StateUnclaimed: false, StateClaimed: false, StateRunning: false, StateCrashed: false},
			"empty": {StateUnclaimed: true, StateClaimed: true, StateRunning: true, StateCrashed: false},
		},
	}
	for _, from := range states {
		for _, k := range keys {
			for _, to := range states {
				row := ActualLRP{ActualLRPKey: key, State: from}
				if from == StateClaimed || from == StateRunning {
					row.ActualLRPInstanceKey = mine
				}
				got := row.AllowsTransitionTo(key, k.key, to)
				if w := want[from][k.name][to]; got != w {
					t.Errorf("%s -(%s key)-> %s: got %v, want %v", from, k.name, to, got, w)
				}
			}
		}
	}
	row := ActualLRP{ActualLRPKey: key, State: StateUnclaimed}
	if row.AllowsTransitionTo(ActualLRPKey{ProcessGUID: "app", Index: 1}, mine, StateClaimed) {
		t.Error("transition with another ActualLRPKey: got allowed, want refused")
	}
}

func TestCrashBackoffSchedule(t *testing.T) {
	tests := []struct {
		count   int
		wait    time.Duration
		restart bool
	}{
		{1, 0, true}, {2, 0, true},
		{3, 30 * time.Second, true}, {4, time.Minute, true}, {5, 2 * time.Minute, true},
		{6, 4 * time.Minute, true}, {7, 8 * time.Minute, true}, {8, 16 * time.Minute, true},
		{9, 16 * time.Minute, true}, {100, 16 * time.Minute, true}, {199, 16 * time.Minute, true},
		{200, 0, false}, {500, 0, false},
	}
	for _, tt := range tests {
		got, ok := CrashBackoff(tt.count)
		if got != tt.wait || ok != tt.restart {
			t.Errorf("CrashBackoff(%d) = %v, %v; want %v, %v", tt.count, got, ok, tt.wait, tt.restart)
		}
		if RestartsImmediately(tt.count) != (tt.count < 3) {
			t.Errorf("RestartsImmediately(%d) = %v", tt.count, RestartsImmediately(tt.count))
		}
	}
}

func TestShouldRestartCrash(t *testing.T) {
	crashed := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		count int
		after time.Duration
		want  bool
	}{
		{1, 0, true}, {2, 0, true},
		{3, 29 * time.Second, false}, {3, 30 * time.Second, true},
		{4, 59 * time.Second, false}, {4, time.Minute, true},
		{5, 2*time.Minute - time.Nanosecond, false}, {5, 2 * time.Minute, true},
		{6, 4 * time.Minute, true}, {7, 8 * time.Minute, true},
		{8, 16*time.Minute - time.Second, false}, {8, 16 * time.Minute, true},
		{150, 16 * time.Minute, true}, {199, 15 * time.Minute, false},
		{200, 24 * time.Hour, false},
	}
	for _, tt := range tests {
		if got := ShouldRestartCrash(crashed.Add(tt.after), crashed, tt.count); got != tt.want {
			t.Errorf("ShouldRestartCrash(count %d, +%v) = %v, want %v", tt.count, tt.after, got, tt.want)
		}
	}
}

func TestCrashCountAfter(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		state ActualLRPState
		count int
		ran   time.Duration
		want  int
	}{
		{"running briefly adds one", StateRunning, 4, time.Minute, 5},
		{"running past five minutes resets to one", StateRunning, 7, 5*time.Minute + time.Second, 1},
		{"exactly five minutes does not reset", StateRunning, 7, 5 * time.Minute, 8},
		{"claimed never resets", StateClaimed, 2, time.Hour, 3},
		{"first crash", StateRunning, 0, time.Second, 1},
	}
	for _, tt := range tests {
		a := &ActualLRP{State: tt.state, CrashCount: tt.count, Since: start}
		if got := CrashCountAfter(a, start.Add(tt.ran)); got != tt.want {
			t.Errorf("%s: got %d, want %d", tt.name, got, tt.want)
		}
	}
}

func TestActualLRPValidate(t *testing.T) {
	key := ActualLRPKey{ProcessGUID: "app", Index: 0}
	ik := ActualLRPInstanceKey{InstanceGUID: "i", CellID: "c"}
	net := ActualLRPNetInfo{Address: "10.0.0.1"}
	tests := []struct {
		name string
		row  ActualLRP
		ok   bool
	}{
		{"unclaimed", ActualLRP{ActualLRPKey: key, State: StateUnclaimed, Presence: PresenceOrdinary}, true},
		{"unclaimed with key", ActualLRP{ActualLRPKey: key, ActualLRPInstanceKey: ik, State: StateUnclaimed, Presence: PresenceOrdinary}, false},
		{"unclaimed suspect", ActualLRP{ActualLRPKey: key, State: StateUnclaimed, Presence: PresenceSuspect}, false},
		{"claimed", ActualLRP{ActualLRPKey: key, ActualLRPInstanceKey: ik, State: StateClaimed, Presence: PresenceOrdinary}, true},
		{"claimed without key", ActualLRP{ActualLRPKey: key, State: StateClaimed, Presence: PresenceOrdinary}, false},
		{"running", ActualLRP{ActualLRPKey: key, ActualLRPInstanceKey: ik, ActualLRPNetInfo: net, State: StateRunning, Presence: PresenceEvacuating}, true},
		{"running without address", ActualLRP{ActualLRPKey: key, ActualLRPInstanceKey: ik, State: StateRunning, Presence: PresenceOrdinary}, false},
		{"crashed", ActualLRP{ActualLRPKey: key, State: StateCrashed, Presence: PresenceOrdinary}, true},
		{"crashed with net info", ActualLRP{ActualLRPKey: key, ActualLRPNetInfo: net, State: StateCrashed, Presence: PresenceOrdinary}, false},
		{"unknown state", ActualLRP{ActualLRPKey: key, State: "ZOMBIE", Presence: PresenceOrdinary}, false},
	}
	for _, tt := range tests {
		err := tt.row.Validate()
		if (err == nil) != tt.ok {
			t.Errorf("%s: Validate() = %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
}

func TestModificationTagSucceededBy(t *testing.T) {
	a := ModificationTag{Epoch: "e1", Index: 3}
	tests := []struct {
		b    ModificationTag
		want bool
	}{
		{ModificationTag{Epoch: "e1", Index: 4}, true},
		{ModificationTag{Epoch: "e1", Index: 3}, false},
		{ModificationTag{Epoch: "e1", Index: 2}, false},
		{ModificationTag{Epoch: "e2", Index: 0}, true},
		{ModificationTag{}, true},
	}
	for _, tt := range tests {
		if got := a.SucceededBy(&tt.b); got != tt.want {
			t.Errorf("%v.SucceededBy(%v) = %v, want %v", a, tt.b, got, tt.want)
		}
	}
	var nilTag *ModificationTag
	if !nilTag.SucceededBy(&a) {
		t.Error("nil tag: want succeeded by anything")
	}
}
