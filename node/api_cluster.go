package node

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"net/http"
	"sort"
	"time"

	"github.com/hashicorp/raft"

	"github.com/diegod/diegod/model"
)

// clusterRoutes is what the API needs from the node for clustering.
type clusterRoutes interface {
	// register adds routes: outer ones skip operator authentication (join,
	// internal endpoints guarded by client certificates), v1 ones are
	// behind it.
	register(outer, v1 *http.ServeMux)
	// readBarrier runs before a ?consistent=true read.
	readBarrier(ctx context.Context) error
}

var _ clusterRoutes = (*Node)(nil)

func (n *Node) register(outer, v1 *http.ServeMux) {
	outer.HandleFunc("GET /v1/join/ca", n.handleJoinCA)
	outer.HandleFunc("POST /v1/join", n.handleJoin)
	outer.HandleFunc("POST /v1/internal/propose", internalOnly(n.handleInternalPropose))
	outer.HandleFunc("GET /v1/internal/read-index", internalOnly(n.handleReadIndex))
	outer.HandleFunc("POST /v1/internal/members/remove", internalOnly(n.handleInternalRemove))
	outer.HandleFunc("POST /v1/internal/snapshot", internalOnly(n.handleInternalRestore))
	// A node's own log store, for another node's fan-out (clusterLogs).
	localLogs := &api{logs: n.cell.Logs()}
	outer.HandleFunc("GET /v1/internal/logs/{guid}", internalOnly(localLogs.streamLogs))
	v1.HandleFunc("GET /v1/token", n.handleToken)
	v1.HandleFunc("POST /v1/token/rotate", n.handleTokenRotate)
	v1.HandleFunc("DELETE /v1/members/{node}", n.handleRemoveMember)
	v1.HandleFunc("POST /v1/cells/{id}/drain", n.handleDrain)
	v1.HandleFunc("GET /v1/snapshot", n.handleSnapshotSave)
	v1.HandleFunc("POST /v1/snapshot", n.handleSnapshotRestore)
}

// TokenInfo answers GET /v1/token.
type TokenInfo struct {
	Token       string `json:"token"`
	JoinCommand string `json:"join_command"`
}

// JoinToken returns the cluster's current join token.
func (n *Node) JoinToken() JoinToken {
	return JoinToken{CAFingerprint: n.pki.Fingerprint(), Secret: joinSecret(n.pki.clusterKey, n.store.View().JoinNonce())}
}

func (n *Node) tokenInfo() TokenInfo {
	tok := n.JoinToken().String()
	return TokenInfo{Token: tok, JoinCommand: fmt.Sprintf("diegod agent --join %s --token %s", n.advertiseAPI(), tok)}
}

func (n *Node) handleToken(w http.ResponseWriter, r *http.Request) {
	if err := n.readBarrier(r.Context()); err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, n.tokenInfo())
}

// handleTokenRotate replaces the join secret cluster-wide: a fresh nonce
// goes through Raft, and every member derives the new secret from it.
func (n *Node) handleTokenRotate(w http.ResponseWriter, r *http.Request) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		writeError(w, err)
		return
	}
	nonce := binary.BigEndian.Uint64(b[:]) | 1 // never zero
	idx, err := n.prop.Propose(r.Context(), model.RotateJoinSecret{Nonce: nonce})
	if err != nil {
		writeError(w, err)
		return
	}
	if err := n.store.WaitIndex(r.Context(), idx); err != nil {
		writeError(w, model.Errorf(model.CodeUnavailable, "rotate token: %v", err))
		return
	}
	n.log.Info().Msg("join secret rotated")
	writeJSON(w, http.StatusOK, n.tokenInfo())
}

// members reports Raft and gossip membership: every server of the Raft
// configuration and every member gossip knows.
func (n *Node) members() []Member {
	now := time.Now()
	byName := map[string]*Member{}
	get := func(name string) *Member {
		m, ok := byName[name]
		if !ok {
			m = &Member{Node: name, Raft: "none", Gossip: gossipUnknown}
			byName[name] = m
		}
		return m
	}
	_, leaderID := n.store.Raft().LeaderWithID()
	if fut := n.store.Raft().GetConfiguration(); fut.Error() == nil {
		for _, s := range fut.Configuration().Servers {
			m := get(string(s.ID))
			m.RaftAddress = string(s.Address)
			switch {
			case s.ID == leaderID:
				m.Raft = "leader"
			case s.Suffrage == raft.Voter:
				m.Raft = "voter"
			default:
				m.Raft = "nonvoter"
			}
		}
	}
	for name, g := range n.gossip.Snapshot(now) {
		m := get(name)
		m.Gossip = g.State
		m.GossipAddress = g.Gossip
		m.Address = g.Meta.API
		if name == n.cfg.NodeName {
			m.LastContact = "0s"
		} else if !g.LastAck.IsZero() {
			m.LastContact = now.Sub(g.LastAck).Round(time.Millisecond).String()
		}
	}
	if string(leaderID) != n.cfg.NodeName && leaderID != "" {
		if lc := n.store.Raft().LastContact(); !lc.IsZero() {
			m := get(string(leaderID))
			m.LastContact = now.Sub(lc).Round(time.Millisecond).String()
		}
	}
	for name, m := range byName {
		if m.Address == "" {
			if p, ok := n.book.get(name); ok {
				m.Address = p.API
			}
		}
	}
	out := make([]Member, 0, len(byName))
	for _, m := range byName {
		out = append(out, *m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Node < out[j].Node })
	return out
}

// handleRemoveMember removes a dead member from Raft (on the leader,
// forwarded if needed) and forgets its cell.
func (n *Node) handleRemoveMember(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("node")
	if err := n.removeMember(r.Context(), name); err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"removed": name})
}

type removeRequest struct {
	Node string `json:"node"`
}

func (n *Node) removeMember(ctx context.Context, name string) error {
	if n.store.IsLeader() {
		return n.removeMemberLocal(ctx, name)
	}
	addr, ok := n.leaderAPI()
	if !ok {
		return model.Errorf(model.CodeUnavailable, "remove member: no leader known")
	}
	return n.callNode(ctx, addr, http.MethodPost, "/v1/internal/members/remove", removeRequest{Node: name}, nil)
}

func (n *Node) handleInternalRemove(w http.ResponseWriter, r *http.Request) {
	var req removeRequest
	if err := decodeInternal(w, r, &req); err != nil {
		writeError(w, err)
		return
	}
	if err := n.removeMemberLocal(r.Context(), req.Node); err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"removed": req.Node})
}

// removeMemberLocal is `diegod members remove` on the leader: the member
// must be down in gossip, and a voter may go only if the remaining voters
// keep a quorum of live ones.
func (n *Node) removeMemberLocal(ctx context.Context, name string) error {
	if !n.store.IsLeader() {
		return model.Errorf(model.CodeNotLeader, "remove member: not the leader")
	}
	if name == n.cfg.NodeName {
		return model.Errorf(model.CodeInvalidRequest, "remove member: %s is the leader; stop it and remove it from another node", name)
	}
	members := n.gossip.Snapshot(time.Now())
	if m, ok := members[name]; memberUp(m, ok) {
		return model.Errorf(model.CodeInvalidTransition, "remove member %s: it is %s in gossip; stop it first: %v", name, m.State, ErrUnsafeRemoval)
	}
	fut := n.store.Raft().GetConfiguration()
	if err := fut.Error(); err != nil {
		return model.Errorf(model.CodeUnavailable, "remove member: %v", err)
	}
	servers := fut.Configuration().Servers
	var found *raft.Server
	for i := range servers {
		if string(servers[i].ID) == name {
			found = &servers[i]
		}
	}
	_, hasCell := n.store.View().Cell(name)
	if found == nil && !hasCell {
		return model.Errorf(model.CodeNotFound, "remove member: %s is not a member", name)
	}
	if found != nil {
		if found.Suffrage == raft.Voter && !quorumSafe(servers, members, n.cfg.NodeName, name) {
			return model.Errorf(model.CodeInvalidTransition, "remove member %s: the remaining voters would have no live quorum: %v", name, ErrUnsafeRemoval)
		}
		if err := n.applyRaftChange(raftChange{Kind: "remove", ID: name}); err != nil {
			return model.Errorf(model.CodeUnavailable, "remove member %s: %v", name, err)
		}
	}
	if hasCell {
		if _, err := n.store.Propose(ctx, model.RemoveCell{CellID: name}); err != nil {
			return err
		}
	}
	n.book.remove(name)
	n.log.Info().Str(logKeyMember, name).Msg("member removed")
	return nil
}

// JoinCommand returns the command that joins another machine to this
// cluster (it carries the current join token).
func (n *Node) JoinCommand() string { return n.tokenInfo().JoinCommand }
