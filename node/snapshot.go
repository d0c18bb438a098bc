package node

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/hashicorp/raft"
	"github.com/rs/zerolog"

	"github.com/diegod/diegod/model"
	"github.com/diegod/diegod/raftstore"
)

// restoreTimeout bounds a raft user restore.
const restoreTimeout = 2 * time.Minute

// httpSink is a raft.SnapshotSink writing to an HTTP response.
type httpSink struct{ io.Writer }

func (httpSink) ID() string    { return "api" }
func (httpSink) Cancel() error { return nil }
func (httpSink) Close() error  { return nil }

// handleSnapshotSave streams the state (the FSM snapshot format) after a
// consistent-read check, so it holds every write acknowledged before.
func (n *Node) handleSnapshotSave(w http.ResponseWriter, r *http.Request) {
	if err := n.readBarrier(r.Context()); err != nil {
		writeError(w, err)
		return
	}
	snap, err := n.store.FSM().Snapshot()
	if err != nil {
		writeError(w, err)
		return
	}
	defer snap.Release()
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("X-Diegod-Index", strconv.FormatUint(n.store.AppliedIndex(), 10))
	if err := snap.Persist(httpSink{w}); err != nil {
		n.log.Warn().Err(err).Msg("snapshot save failed mid-stream")
	}
}

// handleSnapshotRestore replaces the cluster's state with an uploaded
// snapshot: it is spooled and checked here, then restored on the leader
// (forwarded over mutual TLS when this node does not lead).
func (n *Node) handleSnapshotRestore(w http.ResponseWriter, r *http.Request) {
	path, err := n.spoolSnapshot(r.Body)
	if err != nil {
		writeError(w, err)
		return
	}
	defer os.Remove(path)
	if n.store.IsLeader() {
		err = n.restoreLocal(path)
	} else {
		err = n.forwardRestore(r.Context(), path)
	}
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]uint64{"index": n.store.AppliedIndex()})
}

// handleInternalRestore is the leader's side of a forwarded restore.
func (n *Node) handleInternalRestore(w http.ResponseWriter, r *http.Request) {
	path, err := n.spoolSnapshot(r.Body)
	if err != nil {
		writeError(w, err)
		return
	}
	defer os.Remove(path)
	if !n.store.IsLeader() {
		writeError(w, model.Errorf(model.CodeNotLeader, "restore: not the leader"))
		return
	}
	if err := n.restoreLocal(path); err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]uint64{"index": n.store.AppliedIndex()})
}

// spoolSnapshot copies an uploaded snapshot into the data dir and checks
// that it is a complete, well-formed state (by restoring it into a
// throw-away FSM), so a bad upload never reaches Raft.
func (n *Node) spoolSnapshot(body io.Reader) (string, error) {
	f, err := os.CreateTemp(n.cfg.DataDir, "restore-*.snap")
	if err != nil {
		return "", err
	}
	path := f.Name()
	_, err = io.Copy(f, body)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return "", model.Errorf(model.CodeInvalidRequest, "restore: upload: %v", err)
	}
	rf, err := os.Open(path)
	if err != nil {
		os.Remove(path)
		return "", err
	}
	if err := raftstore.NewFSM(nil, nil, zerolog.Nop()).Restore(rf); err != nil {
		os.Remove(path)
		return "", model.Errorf(model.CodeInvalidRequest, "restore: not a diegod snapshot: %v", err)
	}
	return path, nil
}

// restoreLocal restores a checked snapshot file through raft.Restore (the
// leader installs it and sends it to every follower). The snapshot's
// index is raised above the log so the applied index never goes back.
func (n *Node) restoreLocal(path string) error {
	rewritten, size, err := raiseSnapshotIndex(path, n.store.Raft().LastIndex()+1)
	if err != nil {
		return err
	}
	defer os.Remove(rewritten)
	f, err := os.Open(rewritten)
	if err != nil {
		return err
	}
	defer f.Close()
	meta := &raft.SnapshotMeta{Version: raft.SnapshotVersionMax, Size: size}
	if err := n.store.Raft().Restore(meta, f, restoreTimeout); err != nil {
		return model.Errorf(model.CodeUnavailable, "restore: %v", err)
	}
	n.log.Info().Uint64("index", n.store.AppliedIndex()).Msg("state restored from snapshot")
	return nil
}

// raiseSnapshotIndex copies a snapshot file with its header's index set to
// at least min; it returns the new file and its size.
func raiseSnapshotIndex(path string, minIndex uint64) (string, int64, error) {
	in, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer in.Close()
	br := bufio.NewReader(in)
	line, err := br.ReadBytes('\n')
	if err != nil {
		return "", 0, fmt.Errorf("restore: read header: %w", err)
	}
	var header map[string]json.RawMessage
	if err := json.Unmarshal(line, &header); err != nil {
		return "", 0, fmt.Errorf("restore: header: %w", err)
	}
	var idx uint64
	if err := json.Unmarshal(header["index"], &idx); err != nil {
		return "", 0, fmt.Errorf("restore: header index: %w", err)
	}
	if idx < minIndex {
		header["index"] = json.RawMessage(strconv.FormatUint(minIndex, 10))
	}
	out, err := os.CreateTemp(filepath.Dir(path), "restore-*.raised")
	if err != nil {
		return "", 0, err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	if err := enc.Encode(header); err != nil {
		out.Close()
		return "", 0, err
	}
	size, err := out.Write(buf.Bytes())
	if err == nil {
		var k int64
		k, err = io.Copy(out, br)
		size += int(k)
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(out.Name())
		return "", 0, err
	}
	return out.Name(), int64(size), nil
}

// forwardRestore sends a checked snapshot file to the leader.
func (n *Node) forwardRestore(ctx context.Context, path string) error {
	addr, ok := n.leaderAPI()
	if !ok {
		return model.Errorf(model.CodeUnavailable, "restore: no leader known")
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "https://"+addr+"/v1/internal/snapshot", f)
	if err != nil {
		return err
	}
	req.ContentLength = st.Size()
	resp, err := n.internal.Do(req)
	if err != nil {
		return model.Errorf(model.CodeUnavailable, "restore: forward to leader: %v", err)
	}
	defer resp.Body.Close()
	return decodeResponse(resp, nil)
}
