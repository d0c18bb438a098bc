package auction

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/diegod/diegod/model"
)

func TestPendingWork(t *testing.T) {
	d := desiredLRP("a", 4)
	d.PlacementTags = []string{"gpu"}
	d.RootFS = "docker://img"
	s := Snapshot{
		Desired: []model.DesiredLRP{d},
		Actuals: []model.ActualLRP{
			ord("a", 0, model.StateUnclaimed, "", time.Second),
			failed(ord("a", 1, model.StateUnclaimed, "", time.Second), "insufficient resources"),
			ord("a", 2, model.StateRunning, "c1", time.Second),
			ord("orphan", 0, model.StateUnclaimed, "", time.Second),
		},
	}
	want0 := Work{Key: key("a", 0), Resources: model.Resources{MemoryMB: 64, DiskMB: 64, Containers: 1}, RootFS: "docker://img", PlacementTags: []string{"gpu"}}
	want1 := want0
	want1.Key = key("a", 1)
	if got := PendingWork(s, false); !reflect.DeepEqual(got, []Work{want0}) {
		t.Errorf("without failed\n got %+v\nwant %+v", got, []Work{want0})
	}
	if got := PendingWork(s, true); !reflect.DeepEqual(got, []Work{want0, want1}) {
		t.Errorf("with failed\n got %+v\nwant %+v", got, []Work{want0, want1})
	}
	if !HasFailedWork(s) {
		t.Errorf("HasFailedWork = false, want true")
	}
}

func TestCellViews(t *testing.T) {
	s := Snapshot{
		Cells: []model.Cell{cell("c1", model.CellAlive), cell("c2", model.CellDraining)},
		Actuals: []model.ActualLRP{
			ord("a", 0, model.StateRunning, "c1", time.Hour),
			ord("a", 1, model.StateClaimed, "c1", time.Second),
			ord("b", 0, model.StateClaimed, "c1", time.Second),
			row("b", 1, model.StateRunning, model.PresenceEvacuating, "c2", time.Hour),
			ord("b", 1, model.StateUnclaimed, "", time.Second),
			ord("c", 0, model.StateRunning, "elsewhere", time.Hour),
		},
	}
	views := CellViews(s)
	if len(views) != 2 {
		t.Fatalf("got %d views, want 2", len(views))
	}
	c1, c2 := views[0], views[1]
	if want := (model.Resources{MemoryMB: 192, DiskMB: 192, Containers: 3}); c1.Allocated != want {
		t.Errorf("c1 allocated %+v, want %+v", c1.Allocated, want)
	}
	if want := map[string]int{"a": 2, "b": 1}; !reflect.DeepEqual(c1.Instances, want) || c1.Starting != 2 {
		t.Errorf("c1 instances %v starting %d, want %v and 2", c1.Instances, c1.Starting, want)
	}
	if c2.Allocated.Containers != 1 || c2.Instances["b"] != 1 || c2.Starting != 0 {
		t.Errorf("c2 %+v", c2)
	}
}

func TestCellSignature(t *testing.T) {
	base := []model.Cell{cell("c1", model.CellAlive), cell("c2", model.CellAlive), cell("c3", model.CellLost)}
	sig := CellSignature(base)
	mutate := map[string]func(c []model.Cell){
		"cell added":       func(c []model.Cell) { c[2].State = model.CellAlive },
		"cell draining":    func(c []model.Cell) { c[1].State = model.CellDraining },
		"capacity changed": func(c []model.Cell) { c[0].Capacity.MemoryMB++ },
		"tags changed":     func(c []model.Cell) { c[0].PlacementTags = []string{"x"} },
		"rootfs changed":   func(c []model.Cell) { c[0].RootFSProviders = []string{"docker"} },
	}
	for name, fn := range mutate {
		c := append([]model.Cell(nil), base...)
		fn(c)
		if CellSignature(c) == sig {
			t.Errorf("%s: signature unchanged", name)
		}
	}
	same := append([]model.Cell(nil), base...)
	same[2].Since = t0 // a lost cell's details do not matter
	if CellSignature(same) != sig {
		t.Errorf("signature changed for an irrelevant change")
	}
}

func TestClassify(t *testing.T) {
	unclaimed := ord("a", 0, model.StateUnclaimed, "", 0)
	failedRow := failed(unclaimed, "boom")
	claimed := ord("a", 0, model.StateClaimed, "c1", 0)
	crashedRow := crashed(ord("a", 0, model.StateCrashed, "", 0), 3)
	c := cell("c1", model.CellAlive)
	d := desiredLRP("a", 1)
	tests := []struct {
		name string
		ev   model.Event
		want wakeReasons
	}{
		{"row created", model.Event{Type: model.EventActualLRPInstanceCreated, ActualAfter: &unclaimed}, wakeReasons{auction: true}},
		{"row failed", model.Event{Type: model.EventActualLRPInstanceChanged, ActualBefore: &unclaimed, ActualAfter: &failedRow}, wakeReasons{}},
		{"row claimed", model.Event{Type: model.EventActualLRPInstanceChanged, ActualBefore: &unclaimed, ActualAfter: &claimed}, wakeReasons{}},
		{"row crashed", model.Event{Type: model.EventActualLRPCrashed, ActualBefore: &claimed, ActualAfter: &crashedRow}, wakeReasons{converge: true}},
		{"cell changed", model.Event{Type: model.EventCellChanged, CellAfter: &c}, wakeReasons{auction: true, converge: true}},
		{"cell removed", model.Event{Type: model.EventCellRemoved, CellBefore: &c}, wakeReasons{auction: true, converge: true}},
		{"desired removed", model.Event{Type: model.EventDesiredLRPRemoved, DesiredBefore: &d}, wakeReasons{converge: true}},
		{"desired created", model.Event{Type: model.EventDesiredLRPCreated, DesiredAfter: &d}, wakeReasons{}},
	}
	for _, tt := range tests {
		if got := classify([]model.Event{tt.ev}); got != tt.want {
			t.Errorf("%s: got %+v, want %+v", tt.name, got, tt.want)
		}
	}
}

func TestOrderWork(t *testing.T) {
	lrp := func(guid string, index, mem int) Work {
		return Work{Key: model.ActualLRPKey{ProcessGUID: guid, Index: index}, Resources: model.Resources{MemoryMB: mem}}
	}
	task := func(guid string, mem int) Work {
		return Work{TaskGUID: guid, Resources: model.Resources{MemoryMB: mem}}
	}
	in := []Work{lrp("a", 1, 10), task("t1", 5), lrp("b", 0, 5), lrp("a", 0, 10), task("t2", 50), lrp("c", 0, 10), lrp("b", 2, 5), lrp("a", 0, 10)}
	var got []string
	for _, w := range orderWork(in) {
		got = append(got, w.Identifier())
	}
	want := []string{"a.0", "c.0", "b.0", "t2", "t1", "a.1", "b.2"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("order %v, want %v", got, want)
	}
}

func TestResourceScore(t *testing.T) {
	c := &cellState{avail: model.Resources{MemoryMB: 60, DiskMB: 80, Containers: 5}, invMem: 1.0 / 100, invDisk: 1.0 / 200, invCont: 1.0 / 10}
	// remaining 50/100, 70/200, 4/10 → used 0.5, 0.65, 0.6 → mean 0.5833…
	got := resourceScore(c, model.Resources{MemoryMB: 10, DiskMB: 10})
	if want := (0.5 + 0.65 + 0.6) / 3; math.Abs(got-want) > 1e-12 {
		t.Errorf("score %v, want %v", got, want)
	}
}

func TestProblemSet(t *testing.T) {
	if got := (problemMemory | problemContainers).String(); got != "insufficient resources: containers, memory" {
		t.Errorf("got %q", got)
	}
	if got := problemSet(0).String(); got != "insufficient resources" {
		t.Errorf("got %q", got)
	}
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("default config: %v", err)
	}
	bad := map[string]func(c *Config){
		"ConvergeInterval":        func(c *Config) { c.ConvergeInterval = 0 },
		"StaleUnclaimedDuration":  func(c *Config) { c.StaleUnclaimedDuration = -1 },
		"SubscribeBuffer":         func(c *Config) { c.SubscribeBuffer = 0 },
		"ProposeConcurrency":      func(c *Config) { c.ProposeConcurrency = 0 },
		"RetryDelay":              func(c *Config) { c.RetryDelay = 0 },
		"ConvergeMinGap":          func(c *Config) { c.ConvergeMinGap = -time.Second },
		"StartingContainerWeight": func(c *Config) { c.Options.StartingContainerWeight = math.NaN() },
		"MaxInFlight":             func(c *Config) { c.Options.MaxInFlight = -1 },
		"LocalityOffset":          func(c *Config) { c.Options.LocalityOffset = -1 },
	}
	for field, fn := range bad {
		c := DefaultConfig()
		fn(&c)
		err := c.Validate()
		if !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%s: err %v, want ErrInvalidConfig", field, err)
			continue
		}
		if !strings.Contains(err.Error(), field) {
			t.Errorf("%s: error %q does not name the field", field, err)
		}
	}
}
