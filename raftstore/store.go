package raftstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/diegod/diegod/model"
	"github.com/hashicorp/raft"
	"github.com/rs/zerolog"
)

// maxInflight is how many entries the batcher keeps in raft at once. While
// they commit, new proposals queue up and form the next batch, so under load
// entries fill up and each fsync carries many commands; two in flight lets
// the disk write of one overlap the FSM apply of the other.
const maxInflight = 2

// Store is the replicated state of one server: a Raft member whose FSM holds
// DesiredLRPs, ActualLRPs and Cells. Writes go through Propose on the
// leader; reads use View on any node.
//
// All methods are safe for concurrent use.
type Store struct {
	cfg  Config
	log  zerolog.Logger
	rec  Recorder
	fsm  *FSM
	node *raftNode

	queue    chan *proposal
	inflight chan struct{}
	notifyCh chan bool // raft's NotifyCh
	leaderCh chan bool // latest leadership value for the consumer

	closeCh   chan struct{}
	closeOnce sync.Once
	closeErr  error
	wg        sync.WaitGroup
}

// proposal is one command waiting for its batch to commit.
type proposal struct {
	frame []byte
	done  chan proposeResult // buffered 1
}

type proposeResult struct {
	index uint64
	err   error
}

// Open starts the store: it opens (or creates) the log, stable and snapshot
// stores, restores the state from the latest snapshot and the log, joins or
// bootstraps the Raft group, and starts the group-commit batcher.
func Open(cfg Config, log zerolog.Logger) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	level, _ := parseLevel(cfg.RaftLogLevel)
	log = log.With().Str(logKeyComponent, "raftstore").Str(logKeyNodeID, cfg.NodeID).Logger()
	rec := cfg.Metrics
	if rec == nil {
		rec = NopRecorder{}
	}
	s := &Store{
		cfg:      cfg,
		log:      log,
		rec:      rec,
		fsm:      NewFSM(NewHub(), rec, log),
		queue:    make(chan *proposal, cfg.MaxBatch),
		inflight: make(chan struct{}, maxInflight),
		notifyCh: make(chan bool, notifyBuffer),
		leaderCh: make(chan bool, 1),
		closeCh:  make(chan struct{}),
	}
	hl := newHCLogAdapter(log.With().Str(logKeyComponent, "raft").Logger(), level)
	node, err := openRaft(cfg, s.fsm, hl, s.notifyCh)
	if err != nil {
		return nil, err
	}
	s.node = node
	s.wg.Add(2)
	go s.runBatcher()
	go s.runLeadership()
	log.Info().Str(logKeyAddress, string(node.transport.LocalAddr())).Msg("raft store open")
	return s, nil
}

// Close stops the batcher (pending proposals fail with CodeUnavailable),
// shuts raft down, closes the stores and transport it created and every
// event subscription. It is safe to call more than once.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		close(s.closeCh)
		s.closeErr = s.node.shutdown()
		s.wg.Wait()
		s.fsm.hub.Close()
		s.log.Info().Msg("raft store closed")
	})
	return s.closeErr
}

// Raft returns the underlying raft node (membership changes, leadership
// transfer, snapshots).
func (s *Store) Raft() *raft.Raft { return s.node.raft }

// FSM returns the state machine.
func (s *Store) FSM() *FSM { return s.fsm }

// Propose commits cmd through Raft and returns the log index that applied
// it. Concurrent proposals share log entries (group commit). A business
// rejection is a *model.Error (the index of the entry that rejected it is
// returned too); on a follower it is a *model.Error with CodeNotLeader
// naming the leader. If ctx ends first, Propose returns ctx.Err() and the
// command may still be applied.
func (s *Store) Propose(ctx context.Context, cmd model.Command) (uint64, error) {
	select {
	case <-s.closeCh:
		return 0, unavailableError("propose", ErrClosed)
	default:
	}
	frame, err := EncodeCommand(cmd)
	if err != nil {
		if errors.Is(err, ErrUnknownCommand) {
			return 0, model.Errorf(model.CodeUnsupportedCommand, "%v", err)
		}
		return 0, model.Errorf(model.CodeInvalidRequest, "%v", err)
	}
	if s.node.raft.State() != raft.Leader {
		return 0, s.notLeader()
	}
	p := &proposal{frame: frame, done: make(chan proposeResult, 1)}
	select {
	case s.queue <- p:
	case <-ctx.Done():
		return 0, ctx.Err()
	case <-s.closeCh:
		return 0, unavailableError("propose", ErrClosed)
	}
	select {
	case r := <-p.done:
		return r.index, r.err
	case <-ctx.Done():
		return 0, ctx.Err()
	case <-s.closeCh:
		select {
		case r := <-p.done:
			return r.index, r.err
		default:
			return 0, unavailableError("propose", ErrClosed)
		}
	}
}

func (s *Store) notLeader() *model.Error {
	addr, _ := s.node.raft.LeaderWithID()
	return notLeaderError(string(addr))
}

// runBatcher is group commit: it takes everything queued (up to MaxBatch
// commands or MaxBatchBytes) into one envelope and hands it to raft.Apply,
// keeping at most maxInflight entries in raft.
func (s *Store) runBatcher() {
	defer s.wg.Done()
	var carry *proposal
	for {
		first := carry
		carry = nil
		if first == nil {
			select {
			case first = <-s.queue:
			case <-s.closeCh:
				s.failQueued(nil)
				return
			}
		}
		select {
		case s.inflight <- struct{}{}:
		case <-s.closeCh:
			s.failQueued([]*proposal{first})
			return
		}
		batch := []*proposal{first}
		size := len(first.frame)
	collect:
		for len(batch) < s.cfg.MaxBatch {
			select {
			case p := <-s.queue:
				if size+len(p.frame) > s.cfg.MaxBatchBytes {
					carry = p
					break collect
				}
				batch = append(batch, p)
				size += len(p.frame)
			default:
				break collect
			}
		}
		frames := make([][]byte, len(batch))
		for i, p := range batch {
			frames[i] = p.frame
		}
		future := s.node.raft.Apply(EncodeFrames(time.Now(), frames), s.cfg.ApplyTimeout)
		s.rec.BatchProposed(len(batch))
		s.wg.Add(1)
		go s.resolve(future, batch)
	}
}

// resolve waits for an entry to apply and hands each proposer its result.
func (s *Store) resolve(f raft.ApplyFuture, batch []*proposal) {
	defer s.wg.Done()
	defer func() { <-s.inflight }()
	if err := f.Error(); err != nil {
		e := s.applyError(err)
		for _, p := range batch {
			p.done <- proposeResult{err: e}
		}
		return
	}
	res, ok := f.Response().(entryResult)
	if !ok || len(res) != len(batch) {
		e := model.Errorf(model.CodeInternal, "entry %d: no result for %d commands", f.Index(), len(batch))
		for _, p := range batch {
			p.done <- proposeResult{index: f.Index(), err: e}
		}
		return
	}
	for i, p := range batch {
		p.done <- proposeResult{index: f.Index(), err: res[i]}
	}
}

// applyError maps a raft failure to the *model.Error a proposer sees.
func (s *Store) applyError(err error) *model.Error {
	switch {
	case errors.Is(err, raft.ErrNotLeader):
		return s.notLeader()
	case errors.Is(err, raft.ErrLeadershipLost):
		return unavailableError("commit", fmt.Errorf("%w; the command may or may not be applied", err))
	case errors.Is(err, raft.ErrRaftShutdown):
		return unavailableError("commit", ErrClosed)
	}
	return unavailableError("commit", err)
}

// failQueued answers every queued proposal (and extra) with ErrClosed.
func (s *Store) failQueued(extra []*proposal) {
	e := unavailableError("propose", ErrClosed)
	for _, p := range extra {
		p.done <- proposeResult{err: e}
	}
	for {
		select {
		case p := <-s.queue:
			p.done <- proposeResult{err: e}
		default:
			return
		}
	}
}

// runLeadership forwards raft's leadership notifications to LeaderCh,
// keeping only the latest value if the consumer lags.
func (s *Store) runLeadership() {
	defer s.wg.Done()
	for {
		select {
		case v := <-s.notifyCh:
			s.log.Info().Bool(logKeyLeader, v).Msg("leadership changed")
			select {
			case s.leaderCh <- v:
			case <-s.leaderCh:
				s.leaderCh <- v
			}
		case <-s.closeCh:
			return
		}
	}
}

// View returns a consistent read-only view of the local state.
func (s *Store) View() *View { return s.fsm.View() }

// Subscribe delivers the events of every applied entry (see Hub).
func (s *Store) Subscribe(ctx context.Context, buffer int) <-chan []model.Event {
	return s.fsm.hub.Subscribe(ctx, buffer)
}

// AppliedIndex returns the index of the last entry reflected in the local
// state.
func (s *Store) AppliedIndex() uint64 { return s.fsm.AppliedIndex() }

// WaitIndex blocks until the local state reflects index or ctx ends.
func (s *Store) WaitIndex(ctx context.Context, index uint64) error {
	for {
		ch := s.fsm.waitCh()
		if s.fsm.AppliedIndex() >= index {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		case <-s.closeCh:
			return ErrClosed
		}
	}
}

// Barrier blocks until every entry committed before it is applied to the
// local state (leader only): a new leader calls it before acting on its
// state. On a follower it returns CodeNotLeader.
func (s *Store) Barrier(ctx context.Context) error {
	var timeout time.Duration
	if dl, ok := ctx.Deadline(); ok {
		if timeout = time.Until(dl); timeout <= 0 {
			return context.DeadlineExceeded
		}
	}
	f := s.node.raft.Barrier(timeout)
	done := make(chan error, 1)
	go func() { done <- f.Error() }()
	select {
	case err := <-done:
		if err != nil {
			return s.applyError(err)
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// IsLeader reports whether this node is the Raft leader now.
func (s *Store) IsLeader() bool { return s.node.raft.State() == raft.Leader }

// Leader returns the leader's server id and address, empty if unknown.
func (s *Store) Leader() (id, addr string) {
	a, i := s.node.raft.LeaderWithID()
	return string(i), string(a)
}

// LeaderCh delivers true when this node becomes leader and false when it
// stops being leader. Only the latest value is kept if it is not read in
// time; it is meant for one consumer (node's leadership monitor).
func (s *Store) LeaderCh() <-chan bool { return s.leaderCh }

// Stats returns raft's statistics plus the store's own.
func (s *Store) Stats() map[string]string {
	st := s.node.raft.Stats()
	st["fsm_applied_index"] = strconv.FormatUint(s.fsm.AppliedIndex(), 10)
	st["event_subscribers"] = strconv.Itoa(s.fsm.hub.Subscribers())
	return st
}
