package raftstore

import (
	"context"
	"sync"

	"github.com/diegod/diegod/model"
)

// DefaultSubscribeBuffer is the buffer Subscribe uses for a non-positive
// request (Diego's 1024 per subscriber).
const DefaultSubscribeBuffer = 1024

// Hub fans the events of each applied entry out to subscribers (STYLE rule
// 8). Publishing never blocks: a subscriber whose buffer is full is dropped
// and its channel closed, and the consumer resubscribes and re-reads a View.
//
// Delivery contract: each value is the events of one applied Raft entry, in
// log order; entries that changed nothing produce no value. The slices and
// the records they point to are shared between subscribers and read-only.
// A Restore (snapshot install) closes every subscription, since the state
// jumped without events: subscribers resync exactly as after an overflow.
//
// To follow the state without gaps, subscribe first, then read a View, and
// ignore events whose Index is <= View.Index().
type Hub struct {
	mu   sync.Mutex
	subs map[*subscriber]struct{}
}

type subscriber struct {
	ch   chan []model.Event
	done chan struct{} // closed when the subscriber is removed
}

// NewHub returns a hub without subscribers.
func NewHub() *Hub { return &Hub{subs: map[*subscriber]struct{}{}} }

// Subscribe returns a channel delivering the events of each applied entry.
// It is closed when ctx ends, when the subscriber falls more than buffer
// entries behind, on Restore, or when the hub closes.
func (h *Hub) Subscribe(ctx context.Context, buffer int) <-chan []model.Event {
	if buffer <= 0 {
		buffer = DefaultSubscribeBuffer
	}
	s := &subscriber{ch: make(chan []model.Event, buffer), done: make(chan struct{})}
	h.mu.Lock()
	if h.subs == nil { // closed
		h.mu.Unlock()
		close(s.ch)
		return s.ch
	}
	h.subs[s] = struct{}{}
	h.mu.Unlock()
	go func() {
		select {
		case <-ctx.Done():
			h.remove(s)
		case <-s.done:
		}
	}()
	return s.ch
}

// remove drops s and closes its channel; the caller must not hold h.mu.
func (h *Hub) remove(s *subscriber) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.removeLocked(s)
}

func (h *Hub) removeLocked(s *subscriber) {
	if _, ok := h.subs[s]; !ok {
		return
	}
	delete(h.subs, s)
	close(s.ch)
	close(s.done)
}

// publish delivers the events of one entry; full subscribers are dropped.
func (h *Hub) publish(events []model.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		select {
		case s.ch <- events:
		default:
			h.removeLocked(s)
		}
	}
}

// resetAll closes every subscription (after a Restore).
func (h *Hub) resetAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		h.removeLocked(s)
	}
}

// Close closes every subscription; later Subscribe calls get a closed
// channel.
func (h *Hub) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		h.removeLocked(s)
	}
	h.subs = nil
}

// Subscribers returns the number of live subscriptions.
func (h *Hub) Subscribers() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs)
}
