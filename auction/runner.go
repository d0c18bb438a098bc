package auction

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/rs/zerolog"
	"golang.org/x/sync/errgroup"

	"github.com/diegod/diegod/model"
)

// Source is the replicated state as the runner reads it (node adapts
// raftstore.Store to it).
type Source interface {
	// Snapshot returns one consistent view of the state.
	Snapshot() Snapshot
	// Subscribe delivers the events of every applied entry; the channel is
	// closed when ctx ends or when the subscriber falls behind by more than
	// buffer entries (the runner then resubscribes and re-reads).
	Subscribe(ctx context.Context, buffer int) <-chan []model.Event
}

// Proposer commits commands through Raft and returns once they are applied.
type Proposer interface {
	Propose(ctx context.Context, cmd model.Command) (uint64, error)
}

// Log field keys.
const (
	logKeyComponent = "component"
	logKeyCommand   = "command"
	logKeyIndex     = "snapshot_index"
	logKeyBatch     = "batch_id"
	logKeyWork      = "work"
	logKeyPlaced    = "placements"
	logKeyFailed    = "failures"
	logKeyCommands  = "commands"
	logKeyRejected  = "rejected"
	logKeyDuration  = "duration"
	logKeyNextWake  = "next_wake"
	logKeyRetry     = "retry_failed"
)

// resubscribeBackoff is the wait before resubscribing when the previous
// subscription closed less than a second after it was opened.
const resubscribeBackoff = 100 * time.Millisecond

// Runner is the leader-side loop pair that feeds snapshots to Place and
// Converge and proposes their results. Run it while this node leads.
type Runner struct {
	src   Source
	prop  Proposer
	cfg   Config
	log   zerolog.Logger
	clock Clock
	rec   Recorder

	auctionWake  chan struct{}
	convergeWake chan struct{}

	batchID atomic.Uint64
	// retryTasks are the rejected tasks convergence sent back to the
	// auction (runner_task.go).
	retryTasks retrySet
	// lastSig is the cell signature of the last auction that committed, and
	// haveSig whether there was one since Run started.
	lastSig string
	haveSig bool
}

// NewRunner returns a Runner; call Run to start it.
func NewRunner(src Source, prop Proposer, cfg Config, log zerolog.Logger) *Runner {
	r := &Runner{
		src:   src,
		prop:  prop,
		cfg:   cfg,
		log:   log.With().Str(logKeyComponent, "auction").Logger(),
		clock: cfg.Clock,
		rec:   cfg.Metrics,
	}
	if r.clock == nil {
		r.clock = realClock{}
	}
	if r.rec == nil {
		r.rec = NopRecorder{}
	}
	return r
}

// Run runs the auction loop and the convergence loop until ctx is done,
// then returns nil (or the configuration error). It runs one auction and
// one convergence pass at once, so a new leader picks up pending work.
// Run must not be called again before it has returned.
func (r *Runner) Run(ctx context.Context) error {
	if err := r.cfg.Validate(); err != nil {
		return fmt.Errorf("run auction runner: %w", err)
	}
	r.auctionWake = make(chan struct{}, 1)
	r.convergeWake = make(chan struct{}, 1)
	r.haveSig = false
	// Subscribe before the first snapshot so no event falls in between.
	events := r.src.Subscribe(ctx, r.cfg.SubscribeBuffer)
	poke(r.auctionWake)
	poke(r.convergeWake)

	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { r.watch(ctx, events); return nil })
	g.Go(func() error { r.auctionLoop(ctx); return nil })
	g.Go(func() error { r.convergeLoop(ctx); return nil })
	return g.Wait()
}

// poke wakes a loop; wakes coalesce in the 1-slot buffer.
func poke(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// wait blocks for d or until ctx is done; it reports whether d passed.
func wait(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// watch turns event batches into wakes, and resubscribes (then wakes both
// loops to resync) when the subscription closes.
func (r *Runner) watch(ctx context.Context, events <-chan []model.Event) {
	opened := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case evs, ok := <-events:
			if !ok {
				if ctx.Err() != nil {
					return
				}
				r.log.Debug().Msg("event subscription closed, resubscribing")
				if time.Since(opened) < time.Second && !wait(ctx, resubscribeBackoff) {
					return
				}
				opened = time.Now()
				events = r.src.Subscribe(ctx, r.cfg.SubscribeBuffer)
				poke(r.auctionWake)
				poke(r.convergeWake)
				continue
			}
			w := classify(evs)
			if w.auction {
				poke(r.auctionWake)
			}
			if w.converge {
				poke(r.convergeWake)
			}
		}
	}
}

// auctionLoop runs one auction per wake. What arrives during an auction
// leaves a wake behind and forms the next batch.
func (r *Runner) auctionLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.auctionWake:
		}
		if err := r.auctionOnce(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			r.log.Warn().Err(err).Msg("auction not committed, retrying")
			if !wait(ctx, r.cfg.RetryDelay) {
				return
			}
			poke(r.auctionWake)
		}
	}
}

// auctionOnce takes one snapshot, places its pending work and proposes one
// ClaimBatch, waiting for it to commit.
func (r *Runner) auctionOnce(ctx context.Context) error {
	snap := r.src.Snapshot()
	sig := CellSignature(snap.Cells)
	retryFailed := !r.haveSig || sig != r.lastSig
	work := PendingWork(snap, retryFailed)
	retry := r.retryTasks.take()
	work = append(work, PendingTaskWork(snap, retryFailed, retry)...)
	if len(work) == 0 {
		r.lastSig, r.haveSig = sig, true
		return nil
	}
	batch := r.batchID.Add(1)
	opts := r.cfg.Options
	opts.Seed = int64(batch ^ snap.Index)
	start := time.Now()
	plan := Place(CellViews(snap), work, opts)
	placeTime := time.Since(start)

	cmd := model.ClaimBatch{SnapshotIndex: snap.Index}
	for _, p := range plan.Placements {
		if p.TaskGUID != "" {
			continue // tasks go in PlaceTasks (proposePlan)
		}
		cmd.Placements = append(cmd.Placements, model.Placement{
			Key:         p.Key,
			InstanceKey: model.ActualLRPInstanceKey{InstanceGUID: uuid.NewString(), CellID: p.CellID},
		})
	}
	failures := map[FailureCode]int{}
	for _, f := range plan.Failures {
		failures[f.Failure.Code]++
		if f.Work.IsTask() {
			continue
		}
		cmd.Failures = append(cmd.Failures, model.PlacementFailure{
			Key:   f.Work.Key,
			Error: model.Truncate(f.Failure.Detail, model.MaxReasonSize),
		})
	}
	if err := r.proposePlan(ctx, cmd, plan); err != nil {
		r.retryTasks.add(retry)
		return fmt.Errorf("propose auction %d: %w", batch, err)
	}
	r.lastSig, r.haveSig = sig, true
	r.rec.AuctionDone(AuctionStats{Duration: placeTime, Work: len(work), Placements: len(plan.Placements), Failures: failures})
	r.log.Info().
		Uint64(logKeyBatch, batch).
		Uint64(logKeyIndex, snap.Index).
		Int(logKeyWork, len(work)).
		Int(logKeyPlaced, len(plan.Placements)).
		Int(logKeyFailed, len(plan.Failures)).
		Bool(logKeyRetry, retryFailed).
		Dur(logKeyDuration, placeTime).
		Msg("auction committed")
	return nil
}

// convergeLoop runs a pass at start, every ConvergeInterval, at NextWake,
// and soon after events that need one.
func (r *Runner) convergeLoop(ctx context.Context) {
	timer := time.NewTimer(r.cfg.ConvergeInterval)
	defer timer.Stop()
	var last time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.convergeWake:
			if !last.IsZero() && !wait(ctx, r.cfg.ConvergeMinGap-time.Since(last)) {
				return
			}
		case <-timer.C:
		}
		res := r.convergeOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		last = time.Now()
		next := r.cfg.ConvergeInterval
		if !res.NextWake.IsZero() {
			if d := res.NextWake.Sub(r.clock.Now()); d < next {
				next = d
			}
		}
		if next < r.cfg.ConvergeMinGap {
			next = r.cfg.ConvergeMinGap
		}
		timer.Reset(next)
	}
}

// convergeOnce runs Converge on one snapshot and proposes its commands
// concurrently, waiting for all of them.
func (r *Runner) convergeOnce(ctx context.Context) ConvergeResult {
	start := time.Now()
	snap := r.src.Snapshot()
	res := Converge(snap, r.clock.Now(), ConvergeConfig{StaleUnclaimedDuration: r.cfg.StaleUnclaimedDuration})
	res = r.withTaskPass(snap, res)
	if res.AuctionNeeded {
		poke(r.auctionWake)
	}
	var rejected atomic.Int64
	g := errgroup.Group{}
	g.SetLimit(r.cfg.ProposeConcurrency)
	for _, cmd := range res.Commands {
		g.Go(func() error {
			if _, err := r.prop.Propose(ctx, cmd); err != nil {
				rejected.Add(1)
				r.proposalFailed(ctx, cmd, err)
			}
			return nil
		})
	}
	_ = g.Wait()
	stats := ConvergeRunStats{Duration: time.Since(start), Commands: len(res.Commands), Rejected: int(rejected.Load()), Stats: res.Stats}
	r.rec.ConvergeDone(stats)
	ev := r.log.Debug()
	if len(res.Commands) > 0 {
		ev = r.log.Info()
	}
	ev.Uint64(logKeyIndex, snap.Index).
		Int(logKeyCommands, stats.Commands).
		Int(logKeyRejected, stats.Rejected).
		Time(logKeyNextWake, res.NextWake).
		Dur(logKeyDuration, stats.Duration).
		Msg("converge pass")
	return res
}

// proposalFailed records and logs a convergence command the store did not
// apply. Business rejections are expected races (the state moved on since
// the snapshot) and are logged at debug.
func (r *Runner) proposalFailed(ctx context.Context, cmd model.Command, err error) {
	code := model.CodeOf(err)
	r.rec.ProposalFailed(cmd.CommandName(), code)
	var me *model.Error
	if ctx.Err() != nil || (errors.As(err, &me) && code != model.CodeNotLeader && code != model.CodeUnavailable && code != model.CodeInternal) {
		r.log.Debug().Err(err).Str(logKeyCommand, cmd.CommandName()).Msg("converge command rejected")
		return
	}
	r.log.Warn().Err(err).Str(logKeyCommand, cmd.CommandName()).Msg("converge command failed")
}
