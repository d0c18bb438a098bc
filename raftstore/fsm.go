package raftstore

import (
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/diegod/diegod/model"
	"github.com/hashicorp/go-memdb"
	"github.com/hashicorp/raft"
	"github.com/rs/zerolog"
)

// entryResult is the raft response of one command entry: one result per
// command, in envelope order, each nil or a *model.Error.
type entryResult []error

// FSM is the replicated state machine: DesiredLRPs, ActualLRPs and Cells in
// an indexed in-memory database (go-memdb), changed only by applying command
// entries and restored from snapshots.
//
// Raft calls Apply, ApplyBatch, Snapshot and Restore from one goroutine;
// View, AppliedIndex and WaitIndex are safe from any goroutine.
type FSM struct {
	db      atomic.Pointer[memdb.MemDB]
	applied atomic.Uint64
	rows    rowIndex // FSM goroutine only
	hub     *Hub
	rec     Recorder
	log     zerolog.Logger

	mu     sync.Mutex
	notify chan struct{} // closed and replaced when the applied index moves
}

var (
	_ raft.FSM         = (*FSM)(nil)
	_ raft.BatchingFSM = (*FSM)(nil)
)

// NewFSM returns an empty FSM that publishes to hub (nil: a private hub) and
// records to rec (nil: nothing).
func NewFSM(hub *Hub, rec Recorder, log zerolog.Logger) *FSM {
	if hub == nil {
		hub = NewHub()
	}
	if rec == nil {
		rec = NopRecorder{}
	}
	f := &FSM{hub: hub, rec: rec, log: log, notify: make(chan struct{}), rows: rowIndex{}}
	f.db.Store(newDB())
	return f
}

// Hub returns the hub the FSM publishes to.
func (f *FSM) Hub() *Hub { return f.hub }

// AppliedIndex returns the index of the last entry reflected in the state.
func (f *FSM) AppliedIndex() uint64 { return f.applied.Load() }

// View returns a read-only view of the current state.
func (f *FSM) View() *View { return newView(f.db.Load().Txn(false)) }

// Apply implements raft.FSM.
func (f *FSM) Apply(l *raft.Log) any { return f.ApplyBatch([]*raft.Log{l})[0] }

// ApplyBatch implements raft.BatchingFSM: every entry of the batch is
// applied in one memdb write transaction, entries at or below the applied
// index are skipped (replay changes nothing), and after the commit the
// events of each entry are published in order.
func (f *FSM) ApplyBatch(logs []*raft.Log) []any {
	out := make([]any, len(logs))
	db := f.db.Load()
	last := f.applied.Load()
	tx := newApplyTx(db, f.rows)
	type published struct {
		index  uint64
		events []model.Event
	}
	var pubs []published
	for i, l := range logs {
		if l.Index <= last {
			continue
		}
		last = l.Index
		if l.Type != raft.LogCommand {
			continue // configuration changes only move the applied index
		}
		env, err := Decode(l.Data)
		if err != nil {
			panic(fmt.Sprintf("raftstore: log entry %d: %v", l.Index, err))
		}
		tx.startEntry(l.Index, env.Time)
		res := make(entryResult, len(env.Commands))
		for j, cmd := range env.Commands {
			res[j] = f.applyCommand(tx, cmd)
		}
		f.rec.EntryApplied(len(env.Commands))
		out[i] = res
		if len(tx.events) > 0 {
			pubs = append(pubs, published{l.Index, tx.events})
		}
	}
	if last == f.applied.Load() {
		tx.txn.Abort()
		return out
	}
	tx.setApplied(last)
	tx.txn.Commit()
	f.advance(last)
	for _, p := range pubs {
		f.hub.publish(p.events)
	}
	return out
}

// applyCommand dispatches one command to its handler (the single switch of
// the catalogue) and records the outcome.
func (f *FSM) applyCommand(tx *applyTx, cmd model.Command) error {
	if cmd == nil { // unknown type with the ignore bit
		f.rec.CommandRejected("unknown", model.CodeUnsupportedCommand)
		return model.Errorf(model.CodeUnsupportedCommand, "command type not supported by this node")
	}
	var err *model.Error
	switch c := cmd.(type) {
	case model.DesireLRP:
		err = tx.applyDesireLRP(c)
	case model.UpdateDesiredLRP:
		err = tx.applyUpdateDesiredLRP(c)
	case model.RemoveDesiredLRP:
		err = tx.applyRemoveDesiredLRP(c)
	case model.ClaimBatch:
		var skipped int
		skipped, err = tx.applyClaimBatch(c)
		f.noteSkipped(tx.index, skipped)
	case model.StartActualLRP:
		err = tx.applyStartActualLRP(c)
	case model.CrashActualLRP:
		err = tx.applyCrashActualLRP(c)
	case model.RemoveActualLRP:
		err = tx.applyRemoveActualLRP(c)
	case model.UnclaimActualLRP:
		err = tx.applyUnclaimActualLRP(c)
	case model.RetireActualLRP:
		err = tx.applyRetireActualLRP(c)
	case model.CreateMissingActualLRP:
		err = tx.applyCreateMissingActualLRP(c)
	case model.SuspectActualLRP:
		err = tx.applySuspectActualLRP(c)
	case model.PromoteSuspectActualLRP:
		err = tx.applyPromoteSuspectActualLRP(c)
	case model.RetryPlacement:
		err = tx.applyRetryPlacement(c)
	case model.UpsertCell:
		err = tx.applyUpsertCell(c)
	case model.SetCellState:
		err = tx.applySetCellState(c)
	case model.RemoveCell:
		err = tx.applyRemoveCell(c)
	case model.DesireTask:
		err = tx.applyDesireTask(c)
	case model.PlaceTasks:
		var skipped int
		skipped, err = tx.applyPlaceTasks(c)
		f.noteSkipped(tx.index, skipped)
	case model.StartTask:
		err = tx.applyStartTask(c)
	case model.CompleteTask:
		err = tx.applyCompleteTask(c)
	case model.CancelTask:
		err = tx.applyCancelTask(c)
	case model.FailTask:
		err = tx.applyFailTask(c)
	case model.RejectTask:
		err = tx.applyRejectTask(c)
	case model.ResolvingTask:
		err = tx.applyResolvingTask(c)
	case model.DeleteTask:
		err = tx.applyDeleteTask(c)
	case model.DemoteResolvingTask:
		err = tx.applyDemoteResolvingTask(c)
	case model.ExpireTask:
		err = tx.applyExpireTask(c)
	case model.EvacuateRunningActualLRP:
		err = tx.applyEvacuateRunningActualLRP(c)
	case model.RotateJoinSecret:
		err = tx.applyRotateJoinSecret(c)
	default:
		// Decode only yields the types above; anything else is a bug.
		panic(fmt.Sprintf("raftstore: no apply handler for %T", cmd))
	}
	if err != nil {
		f.rec.CommandRejected(cmd.CommandName(), err.Code)
		return err
	}
	f.rec.CommandApplied(cmd.CommandName())
	return nil
}

// advance publishes a new applied index to AppliedIndex and WaitIndex.
func (f *FSM) advance(index uint64) {
	f.applied.Store(index)
	f.mu.Lock()
	close(f.notify)
	f.notify = make(chan struct{})
	f.mu.Unlock()
}

// waitCh returns a channel closed at the next advance.
func (f *FSM) waitCh() <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.notify
}

// noteSkipped records the stale placements (LRP or task) an entry skipped.
func (f *FSM) noteSkipped(index uint64, skipped int) {
	if skipped > 0 {
		f.rec.ClaimsSkipped(skipped)
		f.log.Debug().Uint64(logKeyIndex, index).Int(logKeySkipped, skipped).Msg("stale placements skipped")
	}
}
