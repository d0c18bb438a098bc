package node

import (
	"context"
	"errors"
	"time"

	"github.com/hashicorp/raft"

	"github.com/diegod/diegod/model"
	"github.com/diegod/diegod/raftstore"
)

// electionWait bounds how long a write waits for a leader to be elected
// (at start, or during a failover) before it is refused.
const electionWait = 10 * time.Second

// localProposer proposes through the local store. While no leader is known
// (an election is running) it waits for one instead of failing the write at
// once.
type localProposer struct{ store *raftstore.Store }

var _ proposer = localProposer{}

func (p localProposer) Propose(ctx context.Context, cmd model.Command) (uint64, error) {
	deadline := time.Now().Add(electionWait)
	for {
		idx, err := p.store.Propose(ctx, cmd)
		if !errors.Is(err, model.ErrNotLeader) || p.leaderKnown() || time.Now().After(deadline) {
			return idx, err
		}
		if werr := p.waitLeader(ctx, time.Until(deadline)); werr != nil {
			return idx, err
		}
	}
}

func (p localProposer) leaderKnown() bool {
	addr, _ := p.store.Raft().LeaderWithID()
	return addr != ""
}

// waitLeader waits until a leader is known, ctx ends or d passes.
func (p localProposer) waitLeader(ctx context.Context, d time.Duration) error {
	obs := make(chan raft.Observation, 1)
	o := raft.NewObserver(obs, false, func(o *raft.Observation) bool {
		_, ok := o.Data.(raft.LeaderObservation)
		return ok
	})
	p.store.Raft().RegisterObserver(o)
	defer p.store.Raft().DeregisterObserver(o)
	t := time.NewTimer(d)
	defer t.Stop()
	for !p.leaderKnown() {
		select {
		case <-obs:
		case <-t.C:
			return context.DeadlineExceeded
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}
