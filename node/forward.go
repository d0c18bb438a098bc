package node

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/diegod/diegod/model"
	"github.com/diegod/diegod/raftstore"
)

// Forwarding timing.
const (
	// forwardRetryDelay is the pause between attempts while no leader can
	// take a write (an election is running).
	forwardRetryDelay = 25 * time.Millisecond
	// consistentReadTimeout bounds the leader check of a ?consistent=true
	// read.
	consistentReadTimeout = 5 * time.Second
	// maxInternalBody bounds internal request bodies (one command).
	maxInternalBody = 8 << 20
)

// proposeRequest is the body of POST /v1/internal/propose: one command as
// a raftstore entry (type byte + JSON), named for logs.
type proposeRequest struct {
	Command string `json:"command"`
	Entry   []byte `json:"entry"`
}

// indexResponse answers internal calls with a Raft index.
type indexResponse struct {
	Index uint64 `json:"index"`
}

// forwardingProposer proposes on the local store when this node leads and
// forwards to the leader otherwise (POST /v1/internal/propose over mutual
// TLS). While no leader is known, or the leader changes under a forwarded
// write that was certainly not applied (refused as not-leader, or the
// connection could not be made), it retries for up to electionWait.
type forwardingProposer struct{ n *Node }

var _ proposer = forwardingProposer{}

// Propose implements proposer.
func (p forwardingProposer) Propose(ctx context.Context, cmd model.Command) (uint64, error) {
	deadline := time.Now().Add(electionWait)
	for {
		idx, err := p.n.store.Propose(ctx, cmd)
		if !errors.Is(err, model.ErrNotLeader) {
			return idx, err
		}
		if addr, ok := p.n.leaderAPI(); ok {
			fidx, ferr := p.forward(ctx, addr, cmd)
			if ferr == nil || !(errors.Is(ferr, model.ErrNotLeader) || isDialError(ferr)) {
				return fidx, ferr
			}
			err = ferr
		}
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		if time.Now().After(deadline) {
			if model.CodeOf(err) == model.CodeInternal {
				err = model.Errorf(model.CodeUnavailable, "no leader reachable: %v", err)
			}
			return 0, err
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(forwardRetryDelay):
		}
	}
}

func (p forwardingProposer) forward(ctx context.Context, addr string, cmd model.Command) (uint64, error) {
	entry, err := raftstore.Encode(time.Now(), cmd)
	if err != nil {
		return 0, model.Errorf(model.CodeUnsupportedCommand, "%v", err)
	}
	var out indexResponse
	err = p.n.callNode(ctx, addr, http.MethodPost, "/v1/internal/propose", proposeRequest{Command: cmd.CommandName(), Entry: entry}, &out)
	return out.Index, err
}

// leaderAPI returns the API address of the Raft leader, if one is known
// and it is not this node.
func (n *Node) leaderAPI() (string, bool) {
	id, _ := n.store.Leader()
	if id == "" || id == n.cfg.NodeName {
		return "", false
	}
	return n.apiAddrOf(id)
}

// apiAddrOf returns the API address of a member from gossip or the peer
// book.
func (n *Node) apiAddrOf(name string) (string, bool) {
	if m, ok := n.gossip.Member(name); ok && m.Meta.API != "" {
		return m.Meta.API, true
	}
	if p, ok := n.book.get(name); ok && p.API != "" {
		return p.API, true
	}
	return "", false
}

// callNode calls another node's API with the node's certificate. An error
// status becomes the *model.Error the node answered; a failure to connect
// wraps the dial error (isDialError).
func (n *Node) callNode(ctx context.Context, addr, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, "https://"+addr+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := n.internal.Do(req)
	if err != nil {
		return fmt.Errorf("call %s %s: %w", addr, path, err)
	}
	defer resp.Body.Close()
	return decodeResponse(resp, out)
}

// decodeResponse decodes a JSON answer or turns an error status into its
// *model.Error.
func decodeResponse(resp *http.Response, out any) error {
	if resp.StatusCode >= 300 {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		var eb ErrorBody
		if json.Unmarshal(data, &eb) == nil && eb.Error.Code != "" {
			return &eb.Error
		}
		return model.Errorf(model.CodeInternal, "%s: %s", resp.Status, strings.TrimSpace(string(data)))
	}
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// internalOnly wraps an internal endpoint: only callers with a cluster
// certificate get through.
func internalOnly(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !hasClusterCert(r) {
			writeError(w, model.Errorf(model.CodeUnauthorized, "internal endpoint: a cluster client certificate is required"))
			return
		}
		h(w, r)
	}
}

// handleInternalPropose proposes a forwarded command on this node, which
// must be the leader (it never forwards again).
func (n *Node) handleInternalPropose(w http.ResponseWriter, r *http.Request) {
	var req proposeRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxInternalBody)).Decode(&req); err != nil {
		writeError(w, model.Errorf(model.CodeInvalidRequest, "propose: %v", err))
		return
	}
	env, err := raftstore.Decode(req.Entry)
	switch {
	case errors.Is(err, raftstore.ErrUnknownCommand):
		writeError(w, model.Errorf(model.CodeUnsupportedCommand, "propose %s: %v", req.Command, err))
		return
	case err != nil || len(env.Commands) != 1 || env.Commands[0] == nil:
		writeError(w, model.Errorf(model.CodeInvalidRequest, "propose %s: not one known command: %v", req.Command, err))
		return
	}
	idx, err := n.store.Propose(r.Context(), env.Commands[0])
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, indexResponse{Index: idx})
}

// handleReadIndex answers a follower's consistent read: after a Barrier
// every committed entry is applied here, so the applied index is one the
// follower must reach before it reads.
func (n *Node) handleReadIndex(w http.ResponseWriter, r *http.Request) {
	if !n.store.IsLeader() {
		_, addr := n.store.Leader()
		writeError(w, model.Errorf(model.CodeNotLeader, "not the leader; leader is %s", addr))
		return
	}
	if err := n.store.Barrier(r.Context()); err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, indexResponse{Index: n.store.AppliedIndex()})
}

// readBarrier makes the local state at least as new as everything the
// cluster committed before the call (a read-index check): the leader runs a
// Barrier; a follower asks the leader for its applied index and waits to
// apply it.
func (n *Node) readBarrier(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, consistentReadTimeout)
	defer cancel()
	for {
		if n.store.IsLeader() {
			return n.store.Barrier(ctx)
		}
		addr, ok := n.leaderAPI()
		if ok {
			var out indexResponse
			err := n.callNode(ctx, addr, http.MethodGet, "/v1/internal/read-index", nil, &out)
			if err == nil {
				return n.store.WaitIndex(ctx, out.Index)
			}
			if !errors.Is(err, model.ErrNotLeader) && !isDialError(err) {
				return model.Errorf(model.CodeUnavailable, "consistent read: %v", err)
			}
		}
		select {
		case <-ctx.Done():
			return model.Errorf(model.CodeUnavailable, "consistent read: no leader reachable within %v", consistentReadTimeout)
		case <-time.After(forwardRetryDelay):
		}
	}
}

// consistentReads wraps the v1 API: a GET with ?consistent=true first
// runs readBarrier.
func (a *api) consistentReads(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && r.URL.Query().Get("consistent") == "true" && a.cluster != nil {
			if err := a.cluster.readBarrier(r.Context()); err != nil {
				writeError(w, err)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// decodeInternal decodes the JSON body of an internal or cluster request.
func decodeInternal(w http.ResponseWriter, r *http.Request, v any) error {
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxInternalBody)).Decode(v); err != nil {
		return model.Errorf(model.CodeInvalidRequest, "invalid JSON body: %v", err)
	}
	return nil
}
