package auction

import (
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/diegod/diegod/model"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func key(guid string, index int) model.ActualLRPKey {
	return model.ActualLRPKey{ProcessGUID: guid, Index: index, Domain: "default"}
}

func desiredLRP(guid string, instances int) model.DesiredLRP {
	return model.DesiredLRP{ProcessGUID: guid, Domain: "default", Instances: instances, MemoryMB: 64, DiskMB: 64, RootFS: "host"}
}

func cell(id string, state model.CellState) model.Cell {
	return model.Cell{CellID: id, Zone: "z1", State: state, Capacity: model.Resources{MemoryMB: 1024, DiskMB: 1024, Containers: 10}}
}

// row builds an ActualLRP; ago is how long before t0 it reached its state.
func row(guid string, index int, state model.ActualLRPState, presence model.Presence, cellID string, ago time.Duration) model.ActualLRP {
	a := model.ActualLRP{ActualLRPKey: key(guid, index), State: state, Presence: presence, Since: t0.Add(-ago),
		Resources: model.Resources{MemoryMB: 64, DiskMB: 64, Containers: 1}}
	if state == model.StateClaimed || state == model.StateRunning {
		a.ActualLRPInstanceKey = model.ActualLRPInstanceKey{InstanceGUID: guid + "-ig", CellID: cellID}
	}
	if state == model.StateRunning {
		a.Address = "10.0.0.1"
	}
	return a
}

func ord(guid string, index int, state model.ActualLRPState, cellID string, ago time.Duration) model.ActualLRP {
	return row(guid, index, state, model.PresenceOrdinary, cellID, ago)
}

func failed(a model.ActualLRP, err string) model.ActualLRP { a.PlacementError = err; return a }

func crashed(a model.ActualLRP, count int) model.ActualLRP { a.CrashCount = count; return a }

func TestConverge(t *testing.T) {
	alive, lost, draining := cell("alive", model.CellAlive), cell("lost", model.CellLost), cell("draining", model.CellDraining)
	cells := []model.Cell{alive, lost, draining}
	tests := []struct {
		name    string
		desired []model.DesiredLRP
		actuals []model.ActualLRP
		want    []model.Command
		wake    time.Time
		auction bool
	}{
		{
			name:    "healthy: nothing to do",
			desired: []model.DesiredLRP{desiredLRP("a", 2)},
			actuals: []model.ActualLRP{ord("a", 0, model.StateRunning, "alive", time.Hour), ord("a", 1, model.StateClaimed, "draining", time.Second)},
		},
		{
			name:    "stale failed UNCLAIMED is retried, fresh one wakes later",
			desired: []model.DesiredLRP{desiredLRP("a", 3)},
			actuals: []model.ActualLRP{
				failed(ord("a", 0, model.StateUnclaimed, "", 31*time.Second), "insufficient resources: memory"),
				failed(ord("a", 1, model.StateUnclaimed, "", 30*time.Second), "insufficient resources: memory"),
				failed(ord("a", 2, model.StateUnclaimed, "", 10*time.Second), "insufficient resources: memory"),
			},
			want: []model.Command{model.RetryPlacement{Keys: []model.ActualLRPKey{key("a", 0), key("a", 1)}}},
			wake: t0.Add(20 * time.Second),
		},
		{
			name:    "UNCLAIMED without error: an old one asks for an auction",
			desired: []model.DesiredLRP{desiredLRP("a", 2)},
			actuals: []model.ActualLRP{ord("a", 0, model.StateUnclaimed, "", 45*time.Second), ord("a", 1, model.StateUnclaimed, "", time.Second)},
			auction: true,
		},
		{
			name:    "UNCLAIMED without error, all fresh: no auction asked",
			desired: []model.DesiredLRP{desiredLRP("a", 1)},
			actuals: []model.ActualLRP{ord("a", 0, model.StateUnclaimed, "", 29*time.Second)},
		},
		{
			name:    "CLAIMED/RUNNING on a lost or unknown cell become suspect",
			desired: []model.DesiredLRP{desiredLRP("a", 4)},
			actuals: []model.ActualLRP{
				ord("a", 0, model.StateRunning, "lost", time.Hour),
				ord("a", 1, model.StateClaimed, "lost", time.Second),
				ord("a", 2, model.StateRunning, "gone", time.Hour),
				ord("a", 3, model.StateRunning, "draining", time.Hour),
			},
			want: []model.Command{
				model.SuspectActualLRP{Key: key("a", 0)},
				model.SuspectActualLRP{Key: key("a", 1)},
				model.SuspectActualLRP{Key: key("a", 2)},
			},
		},
		{
			name:    "a replacement on a lost cell while a suspect exists is unclaimed",
			desired: []model.DesiredLRP{desiredLRP("a", 1)},
			actuals: []model.ActualLRP{
				ord("a", 0, model.StateRunning, "lost", time.Minute),
				row("a", 0, model.StateRunning, model.PresenceSuspect, "gone", time.Hour),
			},
			want: []model.Command{model.UnclaimActualLRP{Key: key("a", 0), InstanceKey: model.ActualLRPInstanceKey{InstanceGUID: "a-ig", CellID: "lost"}}},
		},
		{
			name:    "missing indices are created with the desired domain",
			desired: []model.DesiredLRP{desiredLRP("a", 4), desiredLRP("b", 1)},
			actuals: []model.ActualLRP{ord("a", 0, model.StateRunning, "alive", time.Hour), ord("a", 2, model.StateRunning, "alive", time.Hour)},
			want: []model.Command{
				model.CreateMissingActualLRP{Key: key("a", 1)},
				model.CreateMissingActualLRP{Key: key("a", 3)},
				model.CreateMissingActualLRP{Key: key("b", 0)},
			},
		},
		{
			name:    "extra indices are retired, any presence",
			desired: []model.DesiredLRP{desiredLRP("a", 2)},
			actuals: []model.ActualLRP{
				ord("a", 0, model.StateRunning, "alive", time.Hour),
				ord("a", 1, model.StateRunning, "alive", time.Hour),
				ord("a", 2, model.StateCrashed, "", time.Hour),
				ord("a", 5, model.StateRunning, "alive", time.Hour),
				row("a", 5, model.StateRunning, model.PresenceSuspect, "lost", time.Hour),
			},
			want: []model.Command{
				model.RetireActualLRP{Key: key("a", 2), Presence: model.PresenceOrdinary},
				model.RetireActualLRP{Key: key("a", 5), Presence: model.PresenceOrdinary},
				model.RetireActualLRP{Key: key("a", 5), Presence: model.PresenceSuspect},
			},
		},
		{
			name: "orphans are retired, ordinary and suspect alike",
			actuals: []model.ActualLRP{
				ord("x", 0, model.StateRunning, "alive", time.Hour),
				row("x", 0, model.StateRunning, model.PresenceSuspect, "lost", time.Hour),
				failed(ord("x", 1, model.StateUnclaimed, "", time.Hour), "boom"),
			},
			want: []model.Command{
				model.RetireActualLRP{Key: key("x", 0), Presence: model.PresenceOrdinary},
				model.RetireActualLRP{Key: key("x", 0), Presence: model.PresenceSuspect},
				model.RetireActualLRP{Key: key("x", 1), Presence: model.PresenceOrdinary},
			},
		},
		{
			name:    "suspect retired once the replacement runs",
			desired: []model.DesiredLRP{desiredLRP("a", 2)},
			actuals: []model.ActualLRP{
				ord("a", 0, model.StateRunning, "alive", time.Second),
				row("a", 0, model.StateRunning, model.PresenceSuspect, "lost", time.Hour),
				// The suspect's cell is back too: retiring still wins.
				ord("a", 1, model.StateRunning, "alive", time.Second),
				row("a", 1, model.StateRunning, model.PresenceSuspect, "draining", time.Hour),
			},
			want: []model.Command{
				model.RetireActualLRP{Key: key("a", 0), Presence: model.PresenceSuspect},
				model.RetireActualLRP{Key: key("a", 1), Presence: model.PresenceSuspect},
			},
		},
		{
			name:    "suspect whose cell is back is promoted",
			desired: []model.DesiredLRP{desiredLRP("a", 3)},
			actuals: []model.ActualLRP{
				ord("a", 0, model.StateUnclaimed, "", time.Second),
				row("a", 0, model.StateRunning, model.PresenceSuspect, "alive", time.Hour),
				ord("a", 1, model.StateClaimed, "alive", time.Second),
				row("a", 1, model.StateRunning, model.PresenceSuspect, "draining", time.Hour),
				ord("a", 2, model.StateUnclaimed, "", time.Second),
				row("a", 2, model.StateRunning, model.PresenceSuspect, "lost", time.Hour),
			},
			want: []model.Command{
				model.PromoteSuspectActualLRP{Key: key("a", 0)},
				model.PromoteSuspectActualLRP{Key: key("a", 1)},
			},
		},
		{
			name:    "CRASHED past backoff restarts, the others wake at their backoff end",
			desired: []model.DesiredLRP{desiredLRP("a", 5)},
			actuals: []model.ActualLRP{
				crashed(ord("a", 0, model.StateCrashed, "", 30*time.Second), 3),  // 30 s backoff: due
				crashed(ord("a", 1, model.StateCrashed, "", 10*time.Second), 3),  // due in 20 s
				crashed(ord("a", 2, model.StateCrashed, "", 1*time.Minute), 5),   // 2 min backoff: due in 60 s
				crashed(ord("a", 3, model.StateCrashed, "", 10*time.Hour), 200),  // never again
				crashed(ord("a", 4, model.StateCrashed, "", 20*time.Minute), 30), // 16 min cap: due
			},
			want: []model.Command{
				model.UnclaimActualLRP{Key: key("a", 0)},
				model.UnclaimActualLRP{Key: key("a", 4)},
			},
			wake: t0.Add(20 * time.Second),
		},
		{
			name:    "NextWake is the earliest of backoffs and staleness",
			desired: []model.DesiredLRP{desiredLRP("a", 2)},
			actuals: []model.ActualLRP{
				crashed(ord("a", 0, model.StateCrashed, "", 25*time.Second), 3),               // due in 5 s
				failed(ord("a", 1, model.StateUnclaimed, "", 27*time.Second), "no resources"), // stale in 3 s
			},
			wake: t0.Add(3 * time.Second),
		},
		{
			name:    "EVACUATING row whose cell is gone is retired",
			desired: []model.DesiredLRP{desiredLRP("a", 2)},
			actuals: []model.ActualLRP{
				ord("a", 0, model.StateClaimed, "alive", time.Second),
				row("a", 0, model.StateRunning, model.PresenceEvacuating, "lost", time.Hour),
				ord("a", 1, model.StateClaimed, "alive", time.Second),
				row("a", 1, model.StateRunning, model.PresenceEvacuating, "draining", time.Hour),
			},
			want: []model.Command{model.RetireActualLRP{Key: key("a", 0), Presence: model.PresenceEvacuating}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Snapshot{Index: 9, Desired: tt.desired, Actuals: tt.actuals, Cells: cells}
			res := Converge(s, t0, ConvergeConfig{StaleUnclaimedDuration: 30 * time.Second})
			if !reflect.DeepEqual(res.Commands, tt.want) {
				t.Errorf("commands\n got %#v\nwant %#v", res.Commands, tt.want)
			}
			if !res.NextWake.Equal(tt.wake) {
				t.Errorf("next wake %v, want %v", res.NextWake, tt.wake)
			}
			if res.AuctionNeeded != tt.auction {
				t.Errorf("auction needed %v, want %v", res.AuctionNeeded, tt.auction)
			}
			// Order of the input does not matter.
			shuffled := append([]model.ActualLRP(nil), tt.actuals...)
			rand.New(rand.NewPCG(1, 2)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
			s.Actuals = shuffled
			if again := Converge(s, t0, ConvergeConfig{StaleUnclaimedDuration: 30 * time.Second}); !reflect.DeepEqual(again, res) {
				t.Errorf("shuffled input gives another result:\n%+v\n%+v", again, res)
			}
		})
	}
}

func TestConvergeStats(t *testing.T) {
	s := Snapshot{
		Desired: []model.DesiredLRP{desiredLRP("a", 6), desiredLRP("b", 1)},
		Actuals: []model.ActualLRP{
			ord("a", 0, model.StateRunning, "alive", time.Hour),
			ord("a", 1, model.StateClaimed, "alive", time.Hour),
			ord("a", 2, model.StateUnclaimed, "", time.Second),
			crashed(ord("a", 3, model.StateCrashed, "", time.Second), 4),
			row("a", 0, model.StateRunning, model.PresenceSuspect, "lost", time.Hour),
			ord("a", 7, model.StateRunning, "alive", time.Hour),
			ord("z", 0, model.StateRunning, "alive", time.Hour),
		},
		Cells: []model.Cell{cell("alive", model.CellAlive), cell("lost", model.CellLost), cell("d", model.CellDraining)},
	}
	got := Converge(s, t0, ConvergeConfig{StaleUnclaimedDuration: 30 * time.Second}).Stats
	want := ConvergeStats{Desired: 7, Running: 1, Claimed: 1, Unclaimed: 1, Crashed: 1, Missing: 3, Extra: 1, Orphaned: 1, Suspect: 1, PresentCells: 2}
	if got != want {
		t.Errorf("stats\n got %+v\nwant %+v", got, want)
	}
}
