package raftstore

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/diegod/diegod/model"
	"github.com/hashicorp/go-memdb"
	"github.com/hashicorp/raft"
)

// Snapshot stream format (version 1): JSON lines.
//
//	{"format":"diegod-raftstore","version":1,"index":N}   header
//	{"d":{...DesiredLRP...}}                               one per DesiredLRP
//	{"a":{...ActualLRP...}}                                one per row
//	{"c":{...Cell...}}                                     one per cell
//	{"t":{...Task...}}                                     one per task
//	{"m":{"Key":K,"Value":V}}                              one per meta row but the applied index
//	{"end":{"desired":D,"actual":A,"cells":C}}             trailer
//
// The trailer's counts detect a truncated stream. Records appear in index
// order, so a snapshot of the same state is byte-for-byte the same.
const (
	snapshotFormat  = "diegod-raftstore"
	snapshotVersion = 1
)

type snapshotHeader struct {
	Format  string `json:"format"`
	Version int    `json:"version"`
	Index   uint64 `json:"index"`
}

type snapshotCounts struct {
	Desired int `json:"desired"`
	Actual  int `json:"actual"`
	Cells   int `json:"cells"`
	Tasks   int `json:"tasks,omitempty"`
	Meta    int `json:"meta,omitempty"`
}

type snapshotRecord struct {
	D   *model.DesiredLRP `json:"d,omitempty"`
	A   *model.ActualLRP  `json:"a,omitempty"`
	C   *model.Cell       `json:"c,omitempty"`
	T   *model.Task       `json:"t,omitempty"`
	M   *metaRow          `json:"m,omitempty"`
	End *snapshotCounts   `json:"end,omitempty"`
}

// fsmSnapshot is a point-in-time read transaction; Persist may run while
// the FSM keeps applying.
type fsmSnapshot struct {
	txn *memdb.Txn
}

var _ raft.FSMSnapshot = (*fsmSnapshot)(nil)

// Snapshot implements raft.FSM. It only opens a memdb read transaction.
func (f *FSM) Snapshot() (raft.FSMSnapshot, error) {
	return &fsmSnapshot{txn: f.db.Load().Txn(false)}, nil
}

// Persist implements raft.FSMSnapshot.
func (s *fsmSnapshot) Persist(sink raft.SnapshotSink) error {
	if err := WriteSnapshot(s.txn, sink); err != nil {
		_ = sink.Cancel()
		return err
	}
	return sink.Close()
}

// Release implements raft.FSMSnapshot.
func (s *fsmSnapshot) Release() {}

// WriteSnapshot writes the state of txn to w in the snapshot format.
func WriteSnapshot(txn *memdb.Txn, w io.Writer) error {
	bw := bufio.NewWriterSize(w, 256<<10)
	enc := json.NewEncoder(bw)
	if err := enc.Encode(snapshotHeader{Format: snapshotFormat, Version: snapshotVersion, Index: appliedIndex(txn)}); err != nil {
		return fmt.Errorf("write snapshot header: %w", err)
	}
	var n snapshotCounts
	for _, table := range []string{tableDesired, tableActual, tableCells, tableTasks} {
		it, err := txn.Get(table, indexID)
		if err != nil {
			return fmt.Errorf("write snapshot %s: %w", table, err)
		}
		for raw := it.Next(); raw != nil; raw = it.Next() {
			var rec snapshotRecord
			switch v := raw.(type) {
			case *model.DesiredLRP:
				rec.D, n.Desired = v, n.Desired+1
			case *model.ActualLRP:
				rec.A, n.Actual = v, n.Actual+1
			case *model.Cell:
				rec.C, n.Cells = v, n.Cells+1
			case *model.Task:
				rec.T, n.Tasks = v, n.Tasks+1
			}
			if err := enc.Encode(rec); err != nil {
				return fmt.Errorf("write snapshot %s: %w", table, err)
			}
		}
	}
	if err := writeSnapshotMeta(txn, enc, &n); err != nil {
		return err
	}
	if err := enc.Encode(snapshotRecord{End: &n}); err != nil {
		return fmt.Errorf("write snapshot trailer: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write snapshot: %w", err)
	}
	return nil
}

// readSnapshot builds a new state database from a snapshot stream.
func readSnapshot(r io.Reader) (*memdb.MemDB, uint64, error) {
	dec := json.NewDecoder(bufio.NewReaderSize(r, 256<<10))
	var h snapshotHeader
	if err := dec.Decode(&h); err != nil {
		return nil, 0, fmt.Errorf("read snapshot header: %v: %w", err, ErrBadSnapshot)
	}
	if h.Format != snapshotFormat || h.Version != snapshotVersion {
		return nil, 0, fmt.Errorf("read snapshot: format %q version %d: %w", h.Format, h.Version, ErrBadSnapshot)
	}
	db := newDB()
	txn := db.Txn(true)
	defer txn.Abort()
	var n snapshotCounts
	for {
		var rec snapshotRecord
		if err := dec.Decode(&rec); err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return nil, 0, fmt.Errorf("read snapshot record: %v: %w", err, ErrBadSnapshot)
		}
		var err error
		switch {
		case rec.End != nil:
			if *rec.End != n {
				return nil, 0, fmt.Errorf("read snapshot: counts %+v, trailer says %+v: %w", n, *rec.End, ErrBadSnapshot)
			}
			must(txn.Insert(tableMeta, &metaRow{Key: metaAppliedIndex, Value: h.Index}))
			txn.Commit()
			return db, h.Index, nil
		case rec.D != nil:
			n.Desired++
			err = txn.Insert(tableDesired, rec.D)
		case rec.A != nil:
			n.Actual++
			err = txn.Insert(tableActual, rec.A)
		case rec.C != nil:
			n.Cells++
			err = txn.Insert(tableCells, rec.C)
		case rec.T != nil:
			n.Tasks++
			err = txn.Insert(tableTasks, rec.T)
		case rec.M != nil && rec.M.Key != metaAppliedIndex:
			n.Meta++
			err = txn.Insert(tableMeta, rec.M)
		default:
			return nil, 0, fmt.Errorf("read snapshot: empty record: %w", ErrBadSnapshot)
		}
		if err != nil {
			return nil, 0, fmt.Errorf("read snapshot: insert: %v: %w", err, ErrBadSnapshot)
		}
	}
}

// Restore implements raft.FSM: it replaces the whole state with the
// snapshot atomically (readers holding a View keep the old state), moves
// the applied index to the snapshot's, and closes every event subscription
// so subscribers resync from a View (no per-record events are published).
// On error the state is left unchanged.
func (f *FSM) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	db, index, err := readSnapshot(rc)
	if err != nil {
		return fmt.Errorf("restore snapshot: %w", err)
	}
	f.rows = buildRowIndex(db.Txn(false))
	f.db.Store(db)
	f.advance(index)
	f.hub.resetAll()
	f.log.Info().Uint64(logKeyIndex, index).Msg("state restored from snapshot")
	return nil
}

// writeSnapshotMeta writes the meta rows other than the applied index (the
// header carries it), such as the join secret's nonce.
func writeSnapshotMeta(txn *memdb.Txn, enc *json.Encoder, n *snapshotCounts) error {
	it, err := txn.Get(tableMeta, indexID)
	if err != nil {
		return fmt.Errorf("write snapshot meta: %w", err)
	}
	for raw := it.Next(); raw != nil; raw = it.Next() {
		m := raw.(*metaRow)
		if m.Key == metaAppliedIndex {
			continue
		}
		n.Meta++
		if err := enc.Encode(snapshotRecord{M: m}); err != nil {
			return fmt.Errorf("write snapshot meta: %w", err)
		}
	}
	return nil
}
