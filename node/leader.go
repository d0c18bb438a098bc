package node

import (
	"context"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/sync/errgroup"

	"github.com/diegod/diegod/raftstore"
)

// barrierTimeout bounds the Barrier a new leader runs before leader work.
const barrierTimeout = 30 * time.Second

// barrierRetry is the wait before a failed leadership barrier is retried.
const barrierRetry = 250 * time.Millisecond

// leadership runs the leader-only work (auction, convergence and
// membership reconciliation) while
// this node holds Raft leadership: on gaining it, a Barrier (every earlier
// entry applied), then the runner under a cancelable context; on losing it,
// cancel and wait.
type leadership struct {
	store *raftstore.Store
	run   func(ctx context.Context) error // the leader work
	log   zerolog.Logger
}

// newLeadership runs the given leader tasks together (each until its
// context ends) while this node leads.
func newLeadership(store *raftstore.Store, log zerolog.Logger, tasks ...func(ctx context.Context) error) *leadership {
	return &leadership{store: store, log: log, run: func(ctx context.Context) error {
		g, gctx := errgroup.WithContext(ctx)
		for _, task := range tasks {
			g.Go(func() error { return task(gctx) })
		}
		return g.Wait()
	}}
}

// Run follows leadership changes until ctx ends.
func (l *leadership) Run(ctx context.Context) error {
	var (
		cancel context.CancelFunc
		wg     sync.WaitGroup
	)
	stop := func() {
		if cancel != nil {
			cancel()
			wg.Wait()
			cancel = nil
			l.log.Info().Msg("leader work stopped")
		}
	}
	defer stop()
	// A barrier that fails while this node still leads (a slow disk, a
	// lost quorum that comes back) is retried, or leader work would wait
	// for the next leadership change.
	retry := time.NewTimer(time.Hour)
	retry.Stop()
	defer retry.Stop()
	start := func() {
		if cancel != nil {
			return
		}
		bctx, bcancel := context.WithTimeout(ctx, barrierTimeout)
		err := l.store.Barrier(bctx)
		bcancel()
		if err != nil {
			l.log.Warn().Err(err).Msg("barrier failed; not starting leader work")
			if l.store.IsLeader() {
				retry.Reset(barrierRetry)
			}
			return
		}
		var wctx context.Context
		wctx, cancel = context.WithCancel(ctx)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := l.run(wctx); err != nil && wctx.Err() == nil {
				l.log.Error().Err(err).Msg("leader work failed")
			}
		}()
		l.log.Info().Msg("leader work started")
	}
	if l.store.IsLeader() {
		start()
	}
	ch := l.store.LeaderCh()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-retry.C:
			if l.store.IsLeader() {
				start()
			}
		case isLeader := <-ch:
			if isLeader {
				start()
			} else {
				stop()
			}
		}
	}
}
