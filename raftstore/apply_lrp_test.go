package raftstore

import (
	"strings"
	"testing"

	"github.com/diegod/diegod/model"
)

func TestDesireLRP(t *testing.T) {
	h := newHarness(t)
	h.ok(model.DesireLRP{LRP: lrp("app", 3)})

	d, ok := h.fsm.View().DesiredLRP("app")
	if !ok {
		t.Fatal("desired lrp missing")
	}
	if d.RootFS != model.DefaultRootFS || d.Domain != "default" || d.LogGUID != "app" {
		t.Errorf("normalize: got rootfs %q domain %q log guid %q", d.RootFS, d.Domain, d.LogGUID)
	}
	if got, want := d.ModificationTag, (model.ModificationTag{Epoch: "1-1"}); got != want {
		t.Errorf("desired tag: got %+v, want %+v", got, want)
	}
	rows := h.fsm.View().ActualLRPsByProcess("app")
	if len(rows) != 3 {
		t.Fatalf("rows: got %d, want 3", len(rows))
	}
	epochs := map[string]bool{}
	for i, r := range rows {
		if r.Index != i || r.State != model.StateUnclaimed || r.Presence != model.PresenceOrdinary {
			t.Errorf("row %d: got %s", i, fmtRow(r))
		}
		if want := (model.Resources{MemoryMB: 128, DiskMB: 256, Containers: 1}); r.Resources != want {
			t.Errorf("row %d resources: got %+v, want %+v", i, r.Resources, want)
		}
		if r.Domain != "default" || !r.Since.Equal(t0) || !r.ActualLRPInstanceKey.Empty() {
			t.Errorf("row %d: domain %q since %v instance %+v", i, r.Domain, r.Since, r.ActualLRPInstanceKey)
		}
		if err := r.Validate(); err != nil {
			t.Errorf("row %d invalid: %v", i, err)
		}
		epochs[r.ModificationTag.Epoch] = true
	}
	if len(epochs) != 3 || epochs["1-1"] {
		t.Errorf("epochs must be distinct and differ from the desired one: %v", epochs)
	}
}

func TestDesireLRPRejections(t *testing.T) {
	h := newHarness(t)
	invalid := lrp("bad", 1)
	invalid.Action = nil
	h.reject(model.DesireLRP{LRP: invalid}, model.CodeInvalidRequest)
	badGUID := lrp("bad guid!", 1)
	h.reject(model.DesireLRP{LRP: badGUID}, model.CodeInvalidRequest)
	if n := len(h.fsm.View().DesiredLRPs()); n != 0 {
		t.Fatalf("rejected desires stored %d lrps", n)
	}

	h.ok(model.DesireLRP{LRP: lrp("app", 1)})
	err := h.reject(model.DesireLRP{LRP: lrp("app", 5)}, model.CodeResourceExists)
	if want := "desired lrp app already exists"; err.Error() != want {
		t.Errorf("message: got %q, want %q", err.Error(), want)
	}
	if n := len(h.fsm.View().ActualLRPsByProcess("app")); n != 1 {
		t.Errorf("duplicate desire changed rows: got %d, want 1", n)
	}
}

func TestUpdateDesiredLRPScaleUp(t *testing.T) {
	h := newHarness(t)
	h.ok(model.DesireLRP{LRP: lrp("app", 2)})
	h.advance(10)
	n := 4
	routes := []string{"new.example.com"}
	h.ok(model.UpdateDesiredLRP{ProcessGUID: "app", Update: model.DesiredLRPUpdate{Instances: &n, Routes: &routes}})

	d, _ := h.fsm.View().DesiredLRP("app")
	if d.Instances != 4 || len(d.Routes) != 1 || d.Routes[0] != "new.example.com" {
		t.Errorf("desired: instances %d routes %v", d.Instances, d.Routes)
	}
	if d.ModificationTag.Index != 1 || d.ModificationTag.Epoch != "1-1" {
		t.Errorf("desired tag: got %+v, want epoch 1-1 index 1", d.ModificationTag)
	}
	rows := h.fsm.View().ActualLRPsByProcess("app")
	if len(rows) != 4 {
		t.Fatalf("rows: got %d, want 4", len(rows))
	}
	for _, i := range []int{2, 3} {
		if r := rows[i]; r.State != model.StateUnclaimed || !r.Since.Equal(h.now) {
			t.Errorf("new row %d: got %s since %v", i, fmtRow(r), r.Since)
		}
	}
	if !rows[0].Since.Equal(t0) || rows[0].ModificationTag.Index != 0 {
		t.Errorf("existing row 0 changed: %+v", rows[0])
	}
}

func TestUpdateDesiredLRPScaleDownDeletesEveryPresence(t *testing.T) {
	h := newHarness(t)
	h.ok(model.UpsertCell{Cell: cell("c1", 4096)}, model.DesireLRP{LRP: lrp("app", 3)})
	h.running("app", 1, "i1", "c1")
	h.running("app", 2, "i2", "c1")
	h.ok(model.SetCellState{CellID: "c1", State: model.CellLost})
	h.ok(model.SuspectActualLRP{Key: key("app", 1)})
	h.row("app", 1, model.PresenceSuspect)

	n := 1
	h.ok(model.UpdateDesiredLRP{ProcessGUID: "app", Update: model.DesiredLRPUpdate{Instances: &n}})
	rows := h.fsm.View().ActualLRPsByProcess("app")
	if len(rows) != 1 || rows[0].Index != 0 {
		for _, r := range rows {
			t.Log(fmtRow(r))
		}
		t.Fatalf("after scale down: got %d rows, want only index 0", len(rows))
	}
	if got := h.fsm.View().ActualLRPsByCell("c1"); len(got) != 0 {
		t.Errorf("rows still on c1: %d", len(got))
	}
}

func TestUpdateDesiredLRPRejections(t *testing.T) {
	h := newHarness(t)
	n := 2
	h.reject(model.UpdateDesiredLRP{ProcessGUID: "nope", Update: model.DesiredLRPUpdate{Instances: &n}}, model.CodeNotFound)
	h.ok(model.DesireLRP{LRP: lrp("app", 1)})
	neg := -1
	h.reject(model.UpdateDesiredLRP{ProcessGUID: "app", Update: model.DesiredLRPUpdate{Instances: &neg}}, model.CodeInvalidRequest)
	big := strings.Repeat("x", model.MaxAnnotationSize+1)
	h.reject(model.UpdateDesiredLRP{ProcessGUID: "app", Update: model.DesiredLRPUpdate{Annotation: &big}}, model.CodeInvalidRequest)
	d, _ := h.fsm.View().DesiredLRP("app")
	if d.ModificationTag.Index != 0 || d.Instances != 1 {
		t.Errorf("rejected updates changed the lrp: %+v", d.ModificationTag)
	}
}

func TestRemoveDesiredLRP(t *testing.T) {
	h := newHarness(t)
	h.reject(model.RemoveDesiredLRP{ProcessGUID: "app"}, model.CodeNotFound)
	h.ok(model.UpsertCell{Cell: cell("c1", 4096)}, model.DesireLRP{LRP: lrp("app", 2)}, model.DesireLRP{LRP: lrp("app2", 1)})
	h.running("app", 0, "i0", "c1")
	h.ok(model.RemoveDesiredLRP{ProcessGUID: "app"})
	v := h.fsm.View()
	if _, ok := v.DesiredLRP("app"); ok {
		t.Error("desired lrp still there")
	}
	if rows := v.ActualLRPsByProcess("app"); len(rows) != 0 {
		t.Errorf("rows left: %d", len(rows))
	}
	if rows := v.ActualLRPsByProcess("app2"); len(rows) != 1 {
		t.Errorf("other lrp rows: got %d, want 1", len(rows))
	}
}

func TestCreateMissingActualLRP(t *testing.T) {
	h := newHarness(t)
	h.reject(model.CreateMissingActualLRP{Key: key("app", 0)}, model.CodeNotFound)
	h.ok(model.DesireLRP{LRP: lrp("app", 2)})
	h.reject(model.CreateMissingActualLRP{Key: key("app", 2)}, model.CodeNotFound)
	h.reject(model.CreateMissingActualLRP{Key: key("app", -1)}, model.CodeNotFound)
	h.reject(model.CreateMissingActualLRP{Key: key("app", 1)}, model.CodeResourceExists)

	before := h.ord("app", 1)
	h.ok(model.RetireActualLRP{Key: key("app", 1), Presence: model.PresenceOrdinary})
	h.noRow("app", 1, model.PresenceOrdinary)
	h.advance(5)
	h.ok(model.CreateMissingActualLRP{Key: key("app", 1)})
	got := h.ord("app", 1)
	if got.State != model.StateUnclaimed || !got.Since.Equal(h.now) || got.Resources != before.Resources || got.Domain != "default" {
		t.Errorf("created row: %s since %v resources %+v", fmtRow(got), got.Since, got.Resources)
	}
	if got.ModificationTag.Epoch == before.ModificationTag.Epoch || got.ModificationTag.Index != 0 {
		t.Errorf("created row tag %+v must be new (old %+v)", got.ModificationTag, before.ModificationTag)
	}
}
