package routing

import (
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// endpointState is the runtime state of one endpoint, kept across table
// rebuilds: requests in flight through this router and the end of its
// cool-off after a failure.
type endpointState struct {
	active      atomic.Int64
	failedUntil atomic.Int64 // unix nanoseconds; 0 = healthy
}

func (s *endpointState) coolingOff(now int64) bool {
	u := s.failedUntil.Load()
	return u != 0 && now < u
}

// states maps Endpoint.key to its endpointState. Entries of endpoints that
// left the table are pruned when a new table is set; a request still holding
// a pruned state only updates a detached counter.
type states struct {
	m sync.Map // string -> *endpointState
}

func (s *states) get(ep *Endpoint) *endpointState {
	if v, ok := s.m.Load(ep.key); ok {
		return v.(*endpointState)
	}
	v, _ := s.m.LoadOrStore(ep.key, new(endpointState))
	return v.(*endpointState)
}

// prune drops the state of endpoints not in t.
func (s *states) prune(t *Table) {
	s.m.Range(func(k, _ any) bool {
		if !t.hasKey(k.(string)) {
			s.m.Delete(k)
		}
		return true
	})
}

// markFailed starts the endpoint's cool-off.
func (s *states) markFailed(ep *Endpoint, now time.Time, coolOff time.Duration) {
	s.get(ep).failedUntil.Store(now.Add(coolOff).UnixNano())
}

// tried is the list of endpoints one request has already attempted,
// compared by key: a retry may look at a newer table.
type tried []*Endpoint

func (t tried) has(ep *Endpoint) bool {
	for _, e := range t {
		if e.key == ep.key {
			return true
		}
	}
	return false
}

// pick chooses the next endpoint for a request: not yet tried, not in
// cool-off. When every untried endpoint is cooling off it returns one of
// them anyway (as gorouter does: a stale cool-off must not turn a
// recovered backend into a 502). It returns nil when every endpoint was
// tried.
func (s *states) pick(p *Pool, b Balancer, done tried, now int64) *Endpoint {
	if b == BalancerLeastConnection {
		return s.pickLeast(p, done, now)
	}
	return s.pickRoundRobin(p, done, now)
}

func (s *states) pickRoundRobin(p *Pool, done tried, now int64) *Endpoint {
	n := uint64(len(p.Endpoints))
	if n == 0 {
		return nil
	}
	start := p.next() % n
	var fallback *Endpoint
	for i := uint64(0); i < n; i++ {
		ep := p.Endpoints[(start+i)%n]
		if done.has(ep) {
			continue
		}
		if s.get(ep).coolingOff(now) {
			if fallback == nil {
				fallback = ep
			}
			continue
		}
		return ep
	}
	return fallback
}

func (s *states) pickLeast(p *Pool, done tried, now int64) *Endpoint {
	var (
		best, fallback *Endpoint
		bestActive     int64
		ties           int
	)
	for _, ep := range p.Endpoints {
		if done.has(ep) {
			continue
		}
		st := s.get(ep)
		if st.coolingOff(now) {
			if fallback == nil {
				fallback = ep
			}
			continue
		}
		a := st.active.Load()
		switch {
		case best == nil || a < bestActive:
			best, bestActive, ties = ep, a, 1
		case a == bestActive:
			ties++
			if rand.IntN(ties) == 0 {
				best = ep
			}
		}
	}
	if best == nil {
		return fallback
	}
	return best
}

// pickSticky returns the endpoint of instanceGUID when it is in the pool and
// not cooling off, else nil.
func (s *states) pickSticky(p *Pool, instanceGUID string, now int64) *Endpoint {
	for _, ep := range p.Endpoints {
		if ep.InstanceGUID == instanceGUID {
			if s.get(ep).coolingOff(now) {
				return nil
			}
			return ep
		}
	}
	return nil
}

// next advances the round-robin cursor. A fresh pool starts at a random
// position so that nodes sharing the same state do not all send their
// first requests to the same instance.
func (p *Pool) next() uint64 {
	for {
		if c := p.cursor.Load(); c != 0 {
			return p.cursor.Add(1)
		}
		p.cursor.CompareAndSwap(0, rand.Uint64()|1<<63)
	}
}
