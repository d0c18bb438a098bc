package routing

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/diegod/diegod/model"
	"github.com/rs/zerolog"
)

// Watcher keeps a router's table current: it subscribes to the Source,
// reads a Snapshot, builds the Table and publishes it; then, for every
// batch of events that touches routing, it reads a fresh Snapshot and
// rebuilds (plan = Build, apply = publish). It never polls: when the
// subscription closes (the consumer fell behind, or the store restarted)
// it resubscribes and resynchronises from a fresh Snapshot.
type Watcher struct {
	src       Source
	local     string
	buffer    int
	publish   func(*Table)
	rec       Recorder
	log       zerolog.Logger
	ready     chan struct{}
	readyOnce sync.Once
}

// NewWatcher returns a Watcher that publishes tables built for
// localAddress (see Build) through publish. rec may be nil.
func NewWatcher(src Source, localAddress string, buffer int, publish func(*Table), rec Recorder, log zerolog.Logger) *Watcher {
	if rec == nil {
		rec = NopRecorder{}
	}
	if buffer < 1 {
		buffer = DefaultSubscribeBuffer
	}
	return &Watcher{
		src: src, local: localAddress, buffer: buffer, publish: publish, rec: rec,
		log:   log.With().Str(logKeyComponent, "route-watcher").Logger(),
		ready: make(chan struct{}),
	}
}

// Ready is closed once the first table has been published.
func (w *Watcher) Ready() <-chan struct{} { return w.ready }

// Run follows the Source until ctx ends; it returns nil then.
func (w *Watcher) Run(ctx context.Context) error {
	backoff := time.Duration(0)
	for {
		subCtx, cancel := context.WithCancel(ctx)
		// Subscribe before reading the snapshot: an event committed in
		// between is then both in the snapshot and on the channel (a
		// harmless extra rebuild) instead of lost.
		ch := w.src.Subscribe(subCtx, w.buffer)
		cur := w.rebuild()
		batches := w.follow(subCtx, ch, cur)
		cancel()
		if ctx.Err() != nil {
			return nil
		}
		// A subscription that closes at once (a closed store) must not
		// spin; one that delivered something resubscribes at once.
		if batches > 0 {
			backoff = 0
		} else {
			backoff = min(max(2*backoff, 10*time.Millisecond), 2*time.Second)
		}
		w.log.Warn().Int("batches", batches).Dur(logKeyDuration, backoff).Msg("event subscription closed, resyncing")
		if backoff > 0 {
			t := time.NewTimer(backoff)
			select {
			case <-ctx.Done():
				t.Stop()
				return nil
			case <-t.C:
			}
		}
	}
}

// follow applies event batches until the channel closes or ctx ends and
// returns the number of batches received.
func (w *Watcher) follow(ctx context.Context, ch <-chan []model.Event, cur *Table) int {
	batches := 0
	for {
		var batch []model.Event
		var ok bool
		select {
		case <-ctx.Done():
			return batches
		case batch, ok = <-ch:
			if !ok {
				return batches
			}
		}
		batches++
		dirty := touchesRouting(cur, batch)
		// Coalesce whatever else is already queued into one rebuild.
		closed := false
	drain:
		for {
			select {
			case more, ok := <-ch:
				if !ok {
					closed = true
					break drain
				}
				batches++
				dirty = dirty || touchesRouting(cur, more)
			default:
				break drain
			}
		}
		if dirty {
			cur = w.rebuild()
		}
		if closed {
			return batches
		}
	}
}

// rebuild reads a snapshot, builds its table and publishes it.
func (w *Watcher) rebuild() *Table {
	start := time.Now()
	t := Build(w.src.Snapshot(), w.local)
	w.publish(t)
	d := time.Since(start)
	w.rec.TableBuilt(t.Len(), t.EndpointCount(), d)
	w.log.Debug().Uint64(logKeyIndexRaft, t.Index()).Int(logKeyRoutes, t.Len()).
		Int(logKeyEndpoints, t.EndpointCount()).Dur(logKeyDuration, d).Msg("route table rebuilt")
	w.readyOnce.Do(func() { close(w.ready) })
	return t
}

// touchesRouting reports whether a batch can change the table cur was
// built from: a route or first port of a DesiredLRP changed, or a row of a
// routed process entered, left or changed while RUNNING.
func touchesRouting(cur *Table, batch []model.Event) bool {
	for i := range batch {
		e := &batch[i]
		switch e.Type {
		case model.EventDesiredLRPCreated, model.EventDesiredLRPChanged, model.EventDesiredLRPRemoved:
			if !sameDesiredRouting(e.DesiredBefore, e.DesiredAfter) {
				return true
			}
		case model.EventActualLRPInstanceCreated, model.EventActualLRPInstanceChanged, model.EventActualLRPInstanceRemoved:
			if !cur.routesProcess(e.ProcessGUID()) {
				continue
			}
			if !sameActualRouting(e.ActualBefore, e.ActualAfter) {
				return true
			}
		}
	}
	return false
}

func desiredRouted(d *model.DesiredLRP) bool {
	return d != nil && len(d.Routes) > 0 && len(d.Ports) > 0
}

func sameDesiredRouting(a, b *model.DesiredLRP) bool {
	ra, rb := desiredRouted(a), desiredRouted(b)
	if !ra || !rb {
		return ra == rb
	}
	return a.Ports[0] == b.Ports[0] && slices.Equal(a.Routes, b.Routes)
}

func actualRouted(a *model.ActualLRP) bool {
	return a != nil && a.State == model.StateRunning
}

func sameActualRouting(a, b *model.ActualLRP) bool {
	ra, rb := actualRouted(a), actualRouted(b)
	if !ra || !rb {
		return ra == rb
	}
	return a.ActualLRPKey == b.ActualLRPKey && a.ActualLRPInstanceKey == b.ActualLRPInstanceKey &&
		a.Presence == b.Presence && a.Address == b.Address && a.InstanceAddress == b.InstanceAddress &&
		slices.Equal(a.Ports, b.Ports)
}
