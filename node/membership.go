package node

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/hashicorp/raft"
	"github.com/rs/zerolog"

	"github.com/diegod/diegod/model"
)

// Leader-side membership timing.
const (
	// membershipInterval is how often the leader reconciles membership
	// without a gossip event.
	membershipInterval = 250 * time.Millisecond
	// unknownMemberGrace is how long a cell whose node this leader has
	// never seen in gossip keeps its state after leadership starts (gossip
	// may still be syncing).
	unknownMemberGrace = 10 * time.Second
	// promoteAfter is how long a new member stays a Raft non-voter, catching
	// up the log, before it is promoted: a voter that cannot yet append
	// would stall every commit while the quorum needs it.
	promoteAfter = time.Second
	// raftChangeTimeout bounds one Raft configuration change.
	raftChangeTimeout = 5 * time.Second
)

// raftChange is one Raft configuration change the leader makes.
type raftChange struct {
	Kind    string // add_voter, add_nonvoter or remove
	ID      string
	Address string
}

// membershipInput is one snapshot of what the leader knows.
type membershipInput struct {
	Now, LeaderSince time.Time
	Self             string
	Members          map[string]gossipMember
	Servers          []raft.Server
	Cells            []model.Cell
	// NonvoterSince is when each non-voter was first seen by this leader.
	NonvoterSince     map[string]time.Time
	MaxVoters         int
	LostGrace         time.Duration
	DeadServerTimeout time.Duration
}

// membershipPlan is what the leader does about it.
type membershipPlan struct {
	Cells []model.SetCellState
	Raft  []raftChange
}

func memberUp(m gossipMember, ok bool) bool {
	return ok && (m.State == gossipAlive || m.State == gossipSuspect)
}

// downSince returns since when a member is down, and whether it is.
func downSince(in *membershipInput, name string, unknownGrace time.Duration) (time.Time, bool) {
	m, ok := in.Members[name]
	switch {
	case name == in.Self || memberUp(m, ok):
		return time.Time{}, false
	case !ok:
		return in.LeaderSince.Add(unknownGrace), true
	}
	return m.Since, true
}

// planMembership turns gossip membership into state and Raft
// configuration changes. It is pure.
//
// Cells: a cell whose member is dead or left (or unknown to this leader
// for unknownMemberGrace) for LostGrace becomes LOST; a LOST cell whose
// member is alive again becomes ALIVE (its suspects are then promoted or
// retired by convergence).
//
// Raft: an alive member with a Raft address that is not in the
// configuration is added as a non-voter, and promoted after promoteAfter
// while voters < MaxVoters; a member whose Raft address changed is added
// again with its new address. A server down for DeadServerTimeout (when
// set) is removed, a voter only if the remaining voters keep a quorum of
// live ones.
func planMembership(in membershipInput) membershipPlan {
	var p membershipPlan
	for _, c := range in.Cells {
		since, down := downSince(&in, c.CellID, unknownMemberGrace)
		switch {
		case !down && c.State == model.CellLost:
			p.Cells = append(p.Cells, model.SetCellState{CellID: c.CellID, State: model.CellAlive})
		case down && c.State != model.CellLost && !in.Now.Before(since.Add(in.LostGrace)):
			p.Cells = append(p.Cells, model.SetCellState{CellID: c.CellID, State: model.CellLost})
		}
	}

	conf := map[string]raft.Server{}
	voters := 0
	for _, s := range in.Servers {
		conf[string(s.ID)] = s
		if s.Suffrage == raft.Voter {
			voters++
		}
	}
	names := make([]string, 0, len(in.Members))
	for name := range in.Members {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		m := in.Members[name]
		if name == in.Self || m.State != gossipAlive || m.Meta.Raft == "" {
			continue
		}
		s, ok := conf[name]
		switch {
		case !ok:
			p.Raft = append(p.Raft, raftChange{Kind: "add_nonvoter", ID: name, Address: m.Meta.Raft})
		case string(s.Address) != m.Meta.Raft:
			kind := "add_nonvoter"
			if s.Suffrage == raft.Voter {
				kind = "add_voter"
			}
			p.Raft = append(p.Raft, raftChange{Kind: kind, ID: name, Address: m.Meta.Raft})
		case s.Suffrage != raft.Voter && voters < in.MaxVoters:
			if first, seen := in.NonvoterSince[name]; seen && !in.Now.Before(first.Add(promoteAfter)) {
				p.Raft = append(p.Raft, raftChange{Kind: "add_voter", ID: name, Address: m.Meta.Raft})
				voters++
			}
		}
	}

	if in.DeadServerTimeout > 0 {
		servers := append([]raft.Server(nil), in.Servers...)
		for _, s := range in.Servers {
			since, down := downSince(&in, string(s.ID), 0)
			if !down || in.Now.Before(since.Add(in.DeadServerTimeout)) {
				continue
			}
			if s.Suffrage == raft.Voter && !quorumSafe(servers, in.Members, in.Self, string(s.ID)) {
				continue
			}
			p.Raft = append(p.Raft, raftChange{Kind: "remove", ID: string(s.ID), Address: string(s.Address)})
			servers = without(servers, s.ID)
		}
	}
	return p
}

func without(servers []raft.Server, id raft.ServerID) []raft.Server {
	out := make([]raft.Server, 0, len(servers))
	for _, s := range servers {
		if s.ID != id {
			out = append(out, s)
		}
	}
	return out
}

// quorumSafe reports whether removing id from servers leaves voters of
// which a quorum is up (self counts as up).
func quorumSafe(servers []raft.Server, members map[string]gossipMember, self, id string) bool {
	voters, up := 0, 0
	for _, s := range servers {
		if s.Suffrage != raft.Voter || string(s.ID) == id {
			continue
		}
		voters++
		m, ok := members[string(s.ID)]
		if string(s.ID) == self || memberUp(m, ok) {
			up++
		}
	}
	return voters > 0 && up >= voters/2+1
}

// membership is the leader's loop that applies planMembership.
type membership struct {
	n   *Node
	log zerolog.Logger

	mu            sync.Mutex
	nonvoterSince map[string]time.Time
}

func newMembership(n *Node) *membership {
	return &membership{n: n, log: n.log.With().Str("component", "membership").Logger()}
}

// Run reconciles until ctx ends (leader only).
func (m *membership) Run(ctx context.Context) error {
	leaderSince := time.Now()
	m.mu.Lock()
	m.nonvoterSince = map[string]time.Time{}
	m.mu.Unlock()
	t := time.NewTicker(membershipInterval)
	defer t.Stop()
	for {
		m.reconcile(ctx, leaderSince)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-m.n.gossip.Wake():
		}
	}
}

func (m *membership) reconcile(ctx context.Context, leaderSince time.Time) {
	fut := m.n.store.Raft().GetConfiguration()
	if err := fut.Error(); err != nil {
		return
	}
	now := time.Now()
	servers := fut.Configuration().Servers
	m.mu.Lock()
	seen := map[string]time.Time{}
	for _, s := range servers {
		if s.Suffrage == raft.Nonvoter {
			if t, ok := m.nonvoterSince[string(s.ID)]; ok {
				seen[string(s.ID)] = t
			} else {
				seen[string(s.ID)] = now
			}
		}
	}
	m.nonvoterSince = seen
	m.mu.Unlock()
	plan := planMembership(membershipInput{
		Now: now, LeaderSince: leaderSince, Self: m.n.cfg.NodeName,
		Members: m.n.gossip.Snapshot(now), Servers: servers, Cells: m.n.store.View().Cells(),
		NonvoterSince: seen, MaxVoters: m.n.cfg.MaxVoters,
		LostGrace: m.n.cfg.CellLostGrace, DeadServerTimeout: m.n.cfg.DeadServerTimeout,
	})
	for _, c := range plan.Cells {
		if _, err := m.n.store.Propose(ctx, c); err != nil {
			m.log.Warn().Err(err).Str(logKeyCellID, c.CellID).Str(logKeyState, string(c.State)).Msg("cannot set cell state")
			continue
		}
		m.log.Info().Str(logKeyCellID, c.CellID).Str(logKeyState, string(c.State)).Msg("cell state set from gossip")
	}
	for _, ch := range plan.Raft {
		if err := m.n.applyRaftChange(ch); err != nil {
			m.log.Warn().Err(err).Str(logKeyMember, ch.ID).Str(logKeyCommand, ch.Kind).Msg("raft configuration change failed")
			continue
		}
		m.log.Info().Str(logKeyMember, ch.ID).Str(logKeyAddress, ch.Address).Str(logKeyCommand, ch.Kind).Msg("raft configuration changed")
	}
}

// applyRaftChange makes one configuration change (leader only).
func (n *Node) applyRaftChange(ch raftChange) error {
	r := n.store.Raft()
	var f raft.IndexFuture
	switch ch.Kind {
	case "add_voter":
		f = r.AddVoter(raft.ServerID(ch.ID), raft.ServerAddress(ch.Address), 0, raftChangeTimeout)
	case "add_nonvoter":
		f = r.AddNonvoter(raft.ServerID(ch.ID), raft.ServerAddress(ch.Address), 0, raftChangeTimeout)
	case "remove":
		f = r.RemoveServer(raft.ServerID(ch.ID), 0, raftChangeTimeout)
	default:
		return fmt.Errorf("raft change %q: unknown", ch.Kind)
	}
	return f.Error()
}
