package node

import (
	"reflect"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/diegod/diegod/model"
)

func TestPlanMembership(t *testing.T) {
	t0 := time.Unix(1000, 0)
	alive := func(raftAddr string) gossipMember {
		return gossipMember{State: gossipAlive, Since: t0.Add(-time.Hour), Meta: nodeMeta{Raft: raftAddr}}
	}
	dead := func(since time.Duration) gossipMember {
		return gossipMember{State: gossipDead, Since: t0.Add(-since), Meta: nodeMeta{Raft: "x"}}
	}
	voter := func(id, addr string) raft.Server {
		return raft.Server{ID: raft.ServerID(id), Address: raft.ServerAddress(addr), Suffrage: raft.Voter}
	}
	nonvoter := func(id, addr string) raft.Server {
		return raft.Server{ID: raft.ServerID(id), Address: raft.ServerAddress(addr), Suffrage: raft.Nonvoter}
	}
	cell := func(id string, st model.CellState) model.Cell { return model.Cell{CellID: id, State: st} }
	base := func() membershipInput {
		return membershipInput{Now: t0, LeaderSince: t0.Add(-time.Hour), Self: "a", MaxVoters: 3,
			LostGrace: time.Second, DeadServerTimeout: time.Minute,
			Members: map[string]gossipMember{"a": alive("a:1"), "b": alive("b:1"), "c": alive("c:1")},
			Servers: []raft.Server{voter("a", "a:1"), voter("b", "b:1"), voter("c", "c:1")},
			Cells:   []model.Cell{cell("a", model.CellAlive), cell("b", model.CellAlive), cell("c", model.CellAlive)}}
	}
	tests := []struct {
		name  string
		edit  func(in *membershipInput)
		cells []model.SetCellState
		raft  []raftChange
	}{
		{"steady", func(in *membershipInput) {}, nil, nil},
		{"dead within grace", func(in *membershipInput) { in.Members["b"] = dead(500 * time.Millisecond) }, nil, nil},
		{"dead past grace", func(in *membershipInput) { in.Members["b"] = dead(2 * time.Second) },
			[]model.SetCellState{{CellID: "b", State: model.CellLost}}, nil},
		{"left past grace, draining", func(in *membershipInput) {
			m := dead(2 * time.Second)
			m.State = gossipLeft
			in.Members["b"] = m
			in.Cells[1].State = model.CellDraining
		}, []model.SetCellState{{CellID: "b", State: model.CellLost}}, nil},
		{"suspect is not down", func(in *membershipInput) {
			m := in.Members["b"]
			m.State = gossipSuspect
			in.Members["b"] = m
		}, nil, nil},
		{"lost and back", func(in *membershipInput) { in.Cells[2].State = model.CellLost },
			[]model.SetCellState{{CellID: "c", State: model.CellAlive}}, nil},
		{"own cell lost", func(in *membershipInput) { in.Cells[0].State = model.CellLost },
			[]model.SetCellState{{CellID: "a", State: model.CellAlive}}, nil},
		{"unknown member waits longer", func(in *membershipInput) {
			in.Cells = append(in.Cells, cell("ghost", model.CellAlive))
			in.LeaderSince = t0.Add(-5 * time.Second)
		}, nil, nil},
		{"unknown member past its grace", func(in *membershipInput) {
			in.Cells = append(in.Cells, cell("ghost", model.CellAlive))
			in.LeaderSince = t0.Add(-unknownMemberGrace - 2*time.Second)
		}, []model.SetCellState{{CellID: "ghost", State: model.CellLost}}, nil},
		{"new member joins as non-voter", func(in *membershipInput) { in.Members["d"] = alive("d:1") },
			nil, []raftChange{{Kind: "add_nonvoter", ID: "d", Address: "d:1"}}},
		{"non-voter promoted after catching up", func(in *membershipInput) {
			in.Servers = []raft.Server{voter("a", "a:1"), voter("b", "b:1"), nonvoter("c", "c:1")}
			in.NonvoterSince = map[string]time.Time{"c": t0.Add(-2 * promoteAfter)}
		}, nil, []raftChange{{Kind: "add_voter", ID: "c", Address: "c:1"}}},
		{"non-voter not yet promoted", func(in *membershipInput) {
			in.Servers = []raft.Server{voter("a", "a:1"), voter("b", "b:1"), nonvoter("c", "c:1")}
			in.NonvoterSince = map[string]time.Time{"c": t0}
		}, nil, nil},
		{"voter cap", func(in *membershipInput) {
			in.Members["d"] = alive("d:1")
			in.Servers = append(in.Servers, nonvoter("d", "d:1"))
			in.NonvoterSince = map[string]time.Time{"d": t0.Add(-time.Hour)}
		}, nil, nil},
		{"address changed", func(in *membershipInput) { in.Members["b"] = alive("b:2") },
			nil, []raftChange{{Kind: "add_voter", ID: "b", Address: "b:2"}}},
		{"dead voter removed after timeout", func(in *membershipInput) {
			in.Members["c"] = dead(2 * time.Minute)
			in.Cells[2].State = model.CellLost
		}, nil, []raftChange{{Kind: "remove", ID: "c", Address: "c:1"}}},
		{"dead voter kept before timeout", func(in *membershipInput) {
			in.Members["c"] = dead(30 * time.Second)
			in.Cells[2].State = model.CellLost
		}, nil, nil},
		{"no removal without a live quorum", func(in *membershipInput) {
			in.Members["b"] = dead(2 * time.Minute)
			in.Members["c"] = dead(2 * time.Minute)
			in.Cells[1].State, in.Cells[2].State = model.CellLost, model.CellLost
		}, nil, nil},
		{"removal disabled", func(in *membershipInput) {
			in.DeadServerTimeout = 0
			in.Members["c"] = dead(2 * time.Hour)
			in.Cells[2].State = model.CellLost
		}, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := base()
			tt.edit(&in)
			got := planMembership(in)
			if !reflect.DeepEqual(got.Cells, tt.cells) {
				t.Errorf("cells: got %+v, want %+v", got.Cells, tt.cells)
			}
			if !reflect.DeepEqual(got.Raft, tt.raft) {
				t.Errorf("raft: got %+v, want %+v", got.Raft, tt.raft)
			}
		})
	}
}

func TestQuorumSafe(t *testing.T) {
	v := func(id string) raft.Server { return raft.Server{ID: raft.ServerID(id), Suffrage: raft.Voter} }
	up := gossipMember{State: gossipAlive}
	down := gossipMember{State: gossipDead}
	tests := []struct {
		name    string
		servers []raft.Server
		members map[string]gossipMember
		remove  string
		want    bool
	}{
		{"3 voters, 1 dead", []raft.Server{v("a"), v("b"), v("c")}, map[string]gossipMember{"b": up, "c": down}, "c", true},
		{"3 voters, 2 dead", []raft.Server{v("a"), v("b"), v("c")}, map[string]gossipMember{"b": down, "c": down}, "c", false},
		{"5 voters, 2 dead", []raft.Server{v("a"), v("b"), v("c"), v("d"), v("e")},
			map[string]gossipMember{"b": up, "c": up, "d": down, "e": down}, "e", true},
		{"2 voters, the other dead", []raft.Server{v("a"), v("b")}, map[string]gossipMember{"b": down}, "b", true},
		{"last voter", []raft.Server{v("b")}, map[string]gossipMember{}, "b", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := quorumSafe(tt.servers, tt.members, "a", tt.remove); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}
