package routing

import (
	"testing"
	"time"
)

func testPool(n int) *Pool {
	p := &Pool{Host: "t.home"}
	for i := 0; i < n; i++ {
		ep := &Endpoint{ProcessGUID: "p", Index: i, InstanceGUID: string(rune('a' + i)), Address: "127.0.0.1:" + string(rune('0'+i))}
		ep.key = ep.InstanceGUID + "@" + ep.Address
		p.Endpoints = append(p.Endpoints, ep)
	}
	return p
}

func TestRoundRobinVisitsEveryEndpointInTurn(t *testing.T) {
	var s states
	p := testPool(4)
	counts := map[int]int{}
	for i := 0; i < 400; i++ {
		counts[s.pick(p, BalancerRoundRobin, nil, 0).Index]++
	}
	for i := 0; i < 4; i++ {
		if counts[i] != 100 {
			t.Errorf("endpoint %d: got %d picks, want 100", i, counts[i])
		}
	}
}

func TestRoundRobinSkipsCoolingAndTried(t *testing.T) {
	var s states
	p := testPool(3)
	now := time.Unix(1000, 0)
	s.markFailed(p.Endpoints[1], now, 30*time.Second)
	for i := 0; i < 30; i++ {
		ep := s.pick(p, BalancerRoundRobin, tried{p.Endpoints[0]}, now.UnixNano())
		if ep != p.Endpoints[2] {
			t.Fatalf("pick %d: got endpoint %d, want 2 (0 tried, 1 cooling off)", i, ep.Index)
		}
	}
	// Every untried endpoint cooling off: one of them is still returned.
	if ep := s.pick(p, BalancerRoundRobin, tried{p.Endpoints[0], p.Endpoints[2]}, now.UnixNano()); ep != p.Endpoints[1] {
		t.Fatalf("fallback: got %v, want endpoint 1", ep)
	}
	// Every endpoint tried: nothing.
	if ep := s.pick(p, BalancerRoundRobin, tried(p.Endpoints), now.UnixNano()); ep != nil {
		t.Fatalf("all tried: got endpoint %d, want nil", ep.Index)
	}
	// After the cool-off the endpoint is picked again.
	later := now.Add(31 * time.Second).UnixNano()
	seen := map[int]bool{}
	for i := 0; i < 3; i++ {
		seen[s.pick(p, BalancerRoundRobin, nil, later).Index] = true
	}
	if !seen[1] {
		t.Fatalf("endpoint 1 not picked after its cool-off: %v", seen)
	}
}

func TestLeastConnection(t *testing.T) {
	var s states
	p := testPool(3)
	s.get(p.Endpoints[0]).active.Store(5)
	s.get(p.Endpoints[1]).active.Store(2)
	s.get(p.Endpoints[2]).active.Store(3)
	if ep := s.pick(p, BalancerLeastConnection, nil, 0); ep != p.Endpoints[1] {
		t.Fatalf("got endpoint %d, want 1 (fewest active)", ep.Index)
	}
	s.markFailed(p.Endpoints[1], time.Unix(0, 0), time.Hour)
	if ep := s.pick(p, BalancerLeastConnection, nil, 1); ep != p.Endpoints[2] {
		t.Fatalf("got endpoint %d, want 2 (1 cooling off)", ep.Index)
	}
	// Ties are broken at random: both tied endpoints get picked.
	s.get(p.Endpoints[2]).active.Store(5)
	seen := map[int]int{}
	for i := 0; i < 200; i++ {
		seen[s.pick(p, BalancerLeastConnection, nil, 1).Index]++
	}
	if seen[0] == 0 || seen[2] == 0 || seen[1] != 0 {
		t.Fatalf("tie picks: got %v, want both 0 and 2, never 1", seen)
	}
}

func TestPickSticky(t *testing.T) {
	var s states
	p := testPool(3)
	if ep := s.pickSticky(p, "b", 0); ep != p.Endpoints[1] {
		t.Fatalf("got %v, want endpoint 1", ep)
	}
	if ep := s.pickSticky(p, "zz", 0); ep != nil {
		t.Fatalf("unknown instance: got endpoint %d, want nil", ep.Index)
	}
	s.markFailed(p.Endpoints[1], time.Unix(0, 0), time.Hour)
	if ep := s.pickSticky(p, "b", 1); ep != nil {
		t.Fatalf("cooling instance: got endpoint %d, want nil", ep.Index)
	}
}

func TestStatesPrune(t *testing.T) {
	var s states
	p := testPool(2)
	s.get(p.Endpoints[0]).active.Store(1)
	s.get(p.Endpoints[1])
	tab := &Table{keys: map[string]struct{}{p.Endpoints[0].key: {}}}
	s.prune(tab)
	if _, ok := s.m.Load(p.Endpoints[1].key); ok {
		t.Errorf("state of an endpoint that left the table was kept")
	}
	if got := s.get(p.Endpoints[0]).active.Load(); got != 1 {
		t.Errorf("state of a kept endpoint: active got %d, want 1", got)
	}
}
