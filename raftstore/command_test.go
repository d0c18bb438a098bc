package raftstore

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/diegod/diegod/model"
	"github.com/hashicorp/raft"
)

// catalogue returns one sample of every model.Command type.
func catalogue() []model.Command {
	n := 5
	routes := []string{"a.example.com"}
	note := "note"
	return []model.Command{
		model.DesireLRP{LRP: lrp("app", 2)},
		model.UpdateDesiredLRP{ProcessGUID: "app", Update: model.DesiredLRPUpdate{Instances: &n, Routes: &routes, Annotation: &note}},
		model.RemoveDesiredLRP{ProcessGUID: "app"},
		model.ClaimBatch{SnapshotIndex: 7,
			Placements: []model.Placement{{Key: key("app", 0), InstanceKey: ikey("i0", "c1")}},
			Failures:   []model.PlacementFailure{{Key: key("app", 1), Error: "insufficient resources: memory"}}},
		model.StartActualLRP{Key: key("app", 0), InstanceKey: ikey("i0", "c1"), NetInfo: netInfo("10.1.1.1", 61001)},
		model.CrashActualLRP{Key: key("app", 0), InstanceKey: ikey("i0", "c1"), Reason: "exited"},
		model.RemoveActualLRP{Key: key("app", 0), InstanceKey: ikey("i0", "c1")},
		model.UnclaimActualLRP{Key: key("app", 0), InstanceKey: ikey("i0", "c1")},
		model.RetireActualLRP{Key: key("app", 3), Presence: model.PresenceSuspect},
		model.CreateMissingActualLRP{Key: key("app", 4)},
		model.SuspectActualLRP{Key: key("app", 0)},
		model.PromoteSuspectActualLRP{Key: key("app", 0)},
		model.RetryPlacement{Keys: []model.ActualLRPKey{key("app", 1)}},
		model.UpsertCell{Cell: cell("c1", 1024)},
		model.SetCellState{CellID: "c1", State: model.CellDraining},
		model.RemoveCell{CellID: "c1"},
	}
}

func TestCatalogueCoversEveryCommand(t *testing.T) {
	cmds := catalogue()
	if got, want := len(cmds), 16; got != want {
		t.Fatalf("catalogue has %d commands, model/command.go has %d", got, want)
	}
	seen := map[CommandType]string{}
	for _, c := range cmds {
		ct, err := CommandTypeOf(c)
		if err != nil {
			t.Fatalf("%s: %v", c.CommandName(), err)
		}
		if ct&IgnoreUnknownTypeFlag != 0 {
			t.Errorf("%s: type %#x has the ignore bit", c.CommandName(), ct)
		}
		if prev, dup := seen[ct]; dup {
			t.Errorf("%s and %s share type %d", prev, c.CommandName(), ct)
		}
		seen[ct] = c.CommandName()
		// The pointer form encodes as the same type.
		ptr := reflect.New(reflect.TypeOf(c))
		ptr.Elem().Set(reflect.ValueOf(c))
		pt, err := CommandTypeOf(ptr.Interface().(model.Command))
		if err != nil || pt != ct {
			t.Errorf("%s: pointer form type %d, %v; want %d", c.CommandName(), pt, err, ct)
		}
	}
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	now := time.Date(2026, 5, 6, 7, 8, 9, 123456789, time.UTC)
	cmds := catalogue()
	data, err := Encode(now, cmds...)
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	if data[0] != EnvelopeVersion {
		t.Fatalf("version byte: got %d, want %d", data[0], EnvelopeVersion)
	}
	env, err := Decode(data)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	if !env.Time.Equal(now) || env.Time.Location() != time.UTC {
		t.Errorf("time: got %v, want %v in UTC", env.Time, now)
	}
	if !reflect.DeepEqual(env.Commands, cmds) {
		t.Errorf("commands:\ngot  %#v\nwant %#v", env.Commands, cmds)
	}
}

func TestEncodeUnknownCommand(t *testing.T) {
	// Only model types implement model.Command, so the one value outside
	// the catalogue is a nil interface.
	var c model.Command
	if _, err := EncodeCommand(c); !errors.Is(err, ErrUnknownCommand) {
		t.Errorf("encode nil command: got %v, want ErrUnknownCommand", err)
	}
}

// envelopeWith builds an envelope from raw frames.
func envelopeWith(frames ...[]byte) []byte { return EncodeFrames(t0, frames) }

func frame(t *testing.T, c model.Command) []byte {
	t.Helper()
	f, err := EncodeCommand(c)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestIgnoredUnknownTypeIsSkipped(t *testing.T) {
	h := newHarness(t)
	unknown := appendFrame(nil, IgnoreUnknownTypeFlag|0x7f, []byte(`{"future":true}`))
	data := envelopeWith(frame(t, model.UpsertCell{Cell: cell("c1", 1024)}), unknown,
		frame(t, model.UpsertCell{Cell: cell("c2", 1024)}))
	out := h.fsm.Apply(&raft.Log{Index: 1, Type: raft.LogCommand, Data: data})
	res := out.(entryResult)
	if len(res) != 3 {
		t.Fatalf("got %d results, want 3", len(res))
	}
	if res[0] != nil || res[2] != nil {
		t.Errorf("known commands: got %v, %v; want nil", res[0], res[2])
	}
	if got := model.CodeOf(res[1]); got != model.CodeUnsupportedCommand {
		t.Errorf("ignored command: got code %q, want %q", got, model.CodeUnsupportedCommand)
	}
	if got := len(h.fsm.View().Cells()); got != 2 {
		t.Errorf("cells: got %d, want 2", got)
	}
}

func TestFSMPanicsOnBadEntries(t *testing.T) {
	good := frame(t, model.RemoveCell{CellID: "c1"})
	cases := map[string][]byte{
		"unknown type without ignore bit": envelopeWith(appendFrame(nil, 0x7f, []byte(`{}`))),
		"bad json payload":                envelopeWith(appendFrame(nil, TypeRemoveCell, []byte(`{"cell_id":`))),
		"wrong version":                   append([]byte{9}, envelopeWith(good)[1:]...),
		"truncated":                       envelopeWith(good)[:12],
		"trailing bytes":                  append(envelopeWith(good), 0),
		"count larger than frames":        append(appendEnvelopeHeader(nil, t0, 2), good...),
		"empty":                           nil,
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := Decode(data); err == nil {
				t.Fatalf("decode: got nil error")
			}
			h := newHarness(t)
			defer func() {
				if recover() == nil {
					t.Errorf("apply did not panic")
				}
			}()
			h.fsm.Apply(&raft.Log{Index: 1, Type: raft.LogCommand, Data: data})
		})
	}
}

func TestDecodeErrorKinds(t *testing.T) {
	_, err := Decode(envelopeWith(appendFrame(nil, 0x7f, []byte(`{}`))))
	if !errors.Is(err, ErrUnknownCommand) {
		t.Errorf("unknown type: got %v, want ErrUnknownCommand", err)
	}
	_, err = Decode(envelopeWith(appendFrame(nil, TypeRemoveCell, []byte(`[`))))
	if !errors.Is(err, ErrBadEnvelope) {
		t.Errorf("bad payload: got %v, want ErrBadEnvelope", err)
	}
}

func TestConfigurationEntryMovesAppliedIndex(t *testing.T) {
	h := newHarness(t)
	out := h.fsm.ApplyBatch([]*raft.Log{{Index: 3, Type: raft.LogConfiguration}})
	if out[0] != nil {
		t.Errorf("response: got %v, want nil", out[0])
	}
	if got := h.fsm.AppliedIndex(); got != 3 {
		t.Errorf("applied index: got %d, want 3", got)
	}
	if got := h.fsm.View().Index(); got != 3 {
		t.Errorf("view index: got %d, want 3", got)
	}
}
