package node

import (
	"context"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/diegod/diegod/auction"
	"github.com/diegod/diegod/raftstore"
)

// barrierTimeout bounds the Barrier a new leader runs before leader work.
const barrierTimeout = 30 * time.Second

// leadership runs the leader-only work (auction and convergence) while
// this node holds Raft leadership: on gaining it, a Barrier (every earlier
// entry applied), then the runner under a cancelable context; on losing it,
// cancel and wait.
type leadership struct {
	store *raftstore.Store
	run   func(ctx context.Context) error // the leader work
	log   zerolog.Logger
}

func newLeadership(store *raftstore.Store, runner *auction.Runner, log zerolog.Logger) *leadership {
	return &leadership{store: store, run: runner.Run, log: log}
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
	start := func() {
		if cancel != nil {
			return
		}
		bctx, bcancel := context.WithTimeout(ctx, barrierTimeout)
		err := l.store.Barrier(bctx)
		bcancel()
		if err != nil {
			l.log.Warn().Err(err).Msg("barrier failed; not starting leader work")
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
		case isLeader := <-ch:
			if isLeader {
				start()
			} else {
				stop()
			}
		}
	}
}
