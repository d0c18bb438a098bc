package cell

import (
	"reflect"
	"testing"

	"github.com/diegod/diegod/model"
)

const me = "cell-a"

func row(guid string, index int, state model.ActualLRPState, presence model.Presence, inst, cellID string) model.ActualLRP {
	r := model.ActualLRP{
		ActualLRPKey: model.ActualLRPKey{ProcessGUID: guid, Index: index},
		State:        state,
		Presence:     presence,
	}
	if inst != "" {
		r.ActualLRPInstanceKey = model.ActualLRPInstanceKey{InstanceGUID: inst, CellID: cellID}
	}
	if state == model.StateRunning {
		r.Address = "10.0.0.1"
	}
	return r
}

func obs(guid string, index int, inst string, phase Phase) Observed {
	return Observed{Key: model.ActualLRPKey{ProcessGUID: guid, Index: index}, InstanceGUID: inst, Phase: phase}
}

// step is an action reduced to what the tests compare.
type step struct {
	Kind ActionKind
	Key  string
	Inst string
}

func steps(plan []Action) []step {
	out := []step{}
	for _, a := range plan {
		out = append(out, step{a.Kind, a.Key.String(), a.InstanceKey.InstanceGUID})
	}
	return out
}

func TestDiff(t *testing.T) {
	web := model.DesiredLRP{ProcessGUID: "web", Instances: 2}
	desired := map[string]model.DesiredLRP{"web": web}
	const (
		ord  = model.PresenceOrdinary
		evac = model.PresenceEvacuating
		susp = model.PresenceSuspect
	)
	tests := []struct {
		name     string
		rows     []model.ActualLRP
		desired  map[string]model.DesiredLRP
		observed []Observed
		want     []step
	}{
		{
			name: "nothing assigned, nothing held",
			want: []step{},
		},
		{
			name: "claimed row without container is started",
			rows: []model.ActualLRP{row("web", 0, model.StateClaimed, ord, "i0", me)},
			want: []step{{ActionStart, "web/0", "i0"}},
		},
		{
			name:    "claimed row of an unknown LRP waits",
			rows:    []model.ActualLRP{row("gone", 0, model.StateClaimed, ord, "i0", me)},
			desired: map[string]model.DesiredLRP{},
			want:    []step{},
		},
		{
			name:     "claimed row with container is left alone",
			rows:     []model.ActualLRP{row("web", 0, model.StateClaimed, ord, "i0", me)},
			observed: []Observed{obs("web", 0, "i0", PhaseActive)},
			want:     []step{},
		},
		{
			name:     "running row with container is left alone",
			rows:     []model.ActualLRP{row("web", 0, model.StateRunning, ord, "i0", me)},
			observed: []Observed{obs("web", 0, "i0", PhaseActive)},
			want:     []step{},
		},
		{
			name: "running row without container is unclaimed",
			rows: []model.ActualLRP{row("web", 1, model.StateRunning, ord, "i1", me)},
			want: []step{{ActionUnclaim, "web/1", "i1"}},
		},
		{
			name: "evacuating or suspect row without container is removed",
			rows: []model.ActualLRP{
				row("web", 0, model.StateRunning, evac, "e0", me),
				row("web", 1, model.StateRunning, susp, "s1", me),
			},
			want: []step{{ActionRemove, "web/0", "e0"}, {ActionRemove, "web/1", "s1"}},
		},
		{
			name:     "container whose row is gone is stopped",
			observed: []Observed{obs("web", 0, "i0", PhaseActive)},
			want:     []step{{ActionStop, "web/0", "i0"}},
		},
		{
			name:     "container whose row has another instance key is stopped, the new claim started",
			rows:     []model.ActualLRP{row("web", 0, model.StateClaimed, ord, "new", me)},
			observed: []Observed{obs("web", 0, "old", PhaseActive)},
			want:     []step{{ActionStart, "web/0", "new"}, {ActionStop, "web/0", "old"}},
		},
		{
			name:     "container whose row crashed (empty key) is stopped",
			rows:     []model.ActualLRP{row("web", 0, model.StateCrashed, ord, "", "")},
			observed: []Observed{obs("web", 0, "i0", PhaseActive)},
			want:     []step{{ActionStop, "web/0", "i0"}},
		},
		{
			name:     "row moved to another cell: container stopped",
			rows:     []model.ActualLRP{row("web", 0, model.StateRunning, ord, "i0", "cell-b")},
			observed: []Observed{obs("web", 0, "i0", PhaseActive)},
			want:     []step{{ActionStop, "web/0", "i0"}},
		},
		{
			name:     "stopping container is left alone",
			observed: []Observed{obs("web", 0, "i0", PhaseStopping)},
			want:     []step{},
		},
		{
			name:     "finished instance whose stale row still names it is not restarted",
			rows:     []model.ActualLRP{row("web", 0, model.StateClaimed, ord, "i0", me)},
			observed: []Observed{obs("web", 0, "i0", PhaseFinished)},
			want:     []step{},
		},
		{
			name:     "finished instance no row names is forgotten",
			rows:     []model.ActualLRP{row("web", 0, model.StateUnclaimed, ord, "", "")},
			observed: []Observed{obs("web", 0, "i0", PhaseFinished)},
			want:     []step{{ActionForget, "web/0", "i0"}},
		},
		{
			name: "evacuating copy keeps the container of its instance",
			rows: []model.ActualLRP{
				row("web", 0, model.StateUnclaimed, ord, "", ""),
				row("web", 0, model.StateRunning, evac, "i0", me),
			},
			observed: []Observed{obs("web", 0, "i0", PhaseActive)},
			want:     []step{},
		},
		{
			name: "unclaimed rows and rows of other cells are ignored",
			rows: []model.ActualLRP{
				row("web", 0, model.StateUnclaimed, ord, "", ""),
				row("web", 1, model.StateClaimed, ord, "x1", "cell-b"),
			},
			want: []step{},
		},
		{
			name: "sorted by process, index, presence",
			rows: []model.ActualLRP{
				row("web", 1, model.StateClaimed, ord, "b1", me),
				row("api", 0, model.StateRunning, ord, "a0", me),
				row("web", 0, model.StateClaimed, ord, "b0", me),
			},
			desired: map[string]model.DesiredLRP{"web": web, "api": {ProcessGUID: "api"}},
			want:    []step{{ActionUnclaim, "api/0", "a0"}, {ActionStart, "web/0", "b0"}, {ActionStart, "web/1", "b1"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := tt.desired
			if d == nil {
				d = desired
			}
			observed := map[string]Observed{}
			for _, o := range tt.observed {
				observed[o.InstanceGUID] = o
			}
			plan := Diff(tt.rows, d, observed, me)
			if got := steps(plan); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("plan:\n got  %+v\n want %+v", got, tt.want)
			}
			for _, a := range plan {
				if a.Kind == ActionStart && a.Desired.ProcessGUID != a.Key.ProcessGUID {
					t.Fatalf("start %s carries desired %q", a.Key, a.Desired.ProcessGUID)
				}
				if a.InstanceKey.CellID != me {
					t.Fatalf("%s %s: instance key cell %q, want %q", a.Kind, a.Key, a.InstanceKey.CellID, me)
				}
			}
		})
	}
}
