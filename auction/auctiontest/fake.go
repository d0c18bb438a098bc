package auctiontest

import (
	"context"
	"sync"
	"time"

	"github.com/diegod/diegod/auction"
	"github.com/diegod/diegod/model"
)

// FakeSource is a scriptable auction.Source: a snapshot the test changes
// with Update, and subscriptions that receive the events Update returns.
// Like the store, it closes a subscription that falls behind its buffer.
type FakeSource struct {
	mu         sync.Mutex
	snap       auction.Snapshot
	subs       map[*fakeSub]struct{}
	subscribes int
	// Now stamps Since on rows changed by ApplyCommand; nil means time.Now.
	Now func() time.Time
}

type fakeSub struct {
	ch     chan []model.Event
	closed bool
}

var _ auction.Source = (*FakeSource)(nil)

// NewFakeSource returns a source holding s.
func NewFakeSource(s auction.Snapshot) *FakeSource {
	return &FakeSource{snap: cloneSnapshot(s), subs: map[*fakeSub]struct{}{}}
}

func cloneSnapshot(s auction.Snapshot) auction.Snapshot {
	return auction.Snapshot{
		Index:   s.Index,
		Desired: append([]model.DesiredLRP(nil), s.Desired...),
		Actuals: append([]model.ActualLRP(nil), s.Actuals...),
		Cells:   append([]model.Cell(nil), s.Cells...),
		Tasks:   append([]model.Task(nil), s.Tasks...),
	}
}

// Snapshot implements auction.Source; it returns a copy.
func (f *FakeSource) Snapshot() auction.Snapshot {
	f.mu.Lock()
	defer f.mu.Unlock()
	return cloneSnapshot(f.snap)
}

// Subscribe implements auction.Source.
func (f *FakeSource) Subscribe(ctx context.Context, buffer int) <-chan []model.Event {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.subscribes++
	sub := &fakeSub{ch: make(chan []model.Event, buffer)}
	f.subs[sub] = struct{}{}
	go func() {
		<-ctx.Done()
		f.mu.Lock()
		defer f.mu.Unlock()
		f.closeLocked(sub)
	}()
	return sub.ch
}

func (f *FakeSource) closeLocked(sub *fakeSub) {
	if !sub.closed {
		sub.closed = true
		close(sub.ch)
	}
	delete(f.subs, sub)
}

// Subscriptions returns how many times Subscribe was called.
func (f *FakeSource) Subscriptions() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.subscribes
}

// CloseSubscriptions closes every open subscription, as the store does to a
// slow consumer.
func (f *FakeSource) CloseSubscriptions() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for sub := range f.subs {
		f.closeLocked(sub)
	}
}

// Update changes the snapshot with fn under the lock, bumps its index,
// stamps the events fn returns with it and publishes them. It returns the
// new index.
func (f *FakeSource) Update(fn func(s *auction.Snapshot) []model.Event) uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.updateLocked(fn)
}

func (f *FakeSource) updateLocked(fn func(s *auction.Snapshot) []model.Event) uint64 {
	events := fn(&f.snap)
	f.snap.Index++
	for i := range events {
		events[i].Index = f.snap.Index
	}
	if len(events) > 0 {
		for sub := range f.subs {
			select {
			case sub.ch <- events:
			default:
				f.closeLocked(sub) // fell behind
			}
		}
	}
	return f.snap.Index
}

// FakeProposer is a recording auction.Proposer. When Apply is set, each
// command is applied with it (one at a time) and its error returned.
type FakeProposer struct {
	mu    sync.Mutex
	cmds  []model.Command
	index uint64
	// Apply applies a command; nil means record only.
	Apply func(cmd model.Command) error
	// Err, when set, is returned for every proposal (nothing is recorded).
	Err error
}

var _ auction.Proposer = (*FakeProposer)(nil)

// Propose implements auction.Proposer.
func (p *FakeProposer) Propose(ctx context.Context, cmd model.Command) (uint64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.Err != nil {
		return 0, p.Err
	}
	p.cmds = append(p.cmds, cmd)
	p.index++
	if p.Apply != nil {
		if err := p.Apply(cmd); err != nil {
			return 0, err
		}
	}
	return p.index, nil
}

// SetErr makes every later proposal fail with err (nil to stop).
func (p *FakeProposer) SetErr(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.Err = err
}

// Commands returns the commands proposed so far, in order.
func (p *FakeProposer) Commands() []model.Command {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]model.Command(nil), p.cmds...)
}

// Filter returns the commands of type T.
func Filter[T model.Command](cmds []model.Command) []T {
	var out []T
	for _, c := range cmds {
		if t, ok := c.(T); ok {
			out = append(out, t)
		}
	}
	return out
}
