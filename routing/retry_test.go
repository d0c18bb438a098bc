package routing

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// dialCounter wraps the router's dialer and counts dials per address.
type dialCounter struct {
	mu    sync.Mutex
	dials map[string]int
}

func (d *dialCounter) count(addr string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.dials[addr]
}

func countDials(r *Router) *dialCounter {
	d := &dialCounter{dials: map[string]int{}}
	orig := r.client.dial
	r.client.dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		d.mu.Lock()
		d.dials[addr]++
		d.mu.Unlock()
		return orig(ctx, network, addr)
	}
	return d
}

// testClock is a settable clock for cool-off expiry.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func TestRefusedEndpointIsRetriedElsewhereAndCooledOff(t *testing.T) {
	src := newFakeSource()
	good0, good2 := newBackend(t, 0, nil), newBackend(t, 2, nil)
	dead := closedPort(t)
	src.putDesired(desiredLRP("app", 3, "app.home"))
	src.putActuals(runningAt("app", 0, good0.addr()), runningAt("app", 1, dead), runningAt("app", 2, good2.addr()))

	clock := &testClock{now: time.Unix(1_700_000_000, 0)}
	var dials *dialCounter
	m, _ := NewMetrics(nil)
	rt := startRouter(t, testConfig(), src, nil, m, func(r *Router) {
		r.now = clock.Now
		dials = countDials(r)
	})
	waitFor(t, 5*time.Second, "3 endpoints", func() bool { return poolSize(rt.srv.Router(), "app.home") == 3 })

	// POST with a body: the body must reach the retried endpoint intact.
	for i := 0; i < 30; i++ {
		req := rt.newRequest(t, http.MethodPost, "app.home", "/", strings.NewReader("payload"))
		if code, body, _ := rt.do(t, req); code != http.StatusOK {
			t.Fatalf("request %d: got %d %q, want 200", i, code, body)
		}
	}
	if got := dials.count(dead); got != 1 {
		t.Fatalf("dials to the refusing endpoint within its cool-off: got %d, want 1", got)
	}
	if got := good0.hits.Load() + good2.hits.Load(); got != 30 {
		t.Errorf("requests served by live backends: got %d, want 30", got)
	}
	if got := testutil.ToFloat64(m.retries); got != 1 {
		t.Errorf("retries metric: got %v, want 1", got)
	}

	// After the cool-off the endpoint is tried again (and cools off again).
	clock.advance(DefaultFailureCoolOff + time.Second)
	for i := 0; i < 6; i++ {
		if code, body := rt.get(t, "app.home", "/"); code != http.StatusOK {
			t.Fatalf("after cool-off, request %d: got %d %q", i, code, body)
		}
	}
	if got := dials.count(dead); got != 2 {
		t.Fatalf("dials to the refusing endpoint after its cool-off: got %d, want 2", got)
	}
}

func TestAllEndpointsRefusingIs502(t *testing.T) {
	src := newFakeSource()
	src.putDesired(desiredLRP("gone", 4, "gone.home"))
	src.putActuals(runningAt("gone", 0, closedPort(t)), runningAt("gone", 1, closedPort(t)),
		runningAt("gone", 2, closedPort(t)), runningAt("gone", 3, closedPort(t)))
	var dials *dialCounter
	rt := startRouter(t, testConfig(), src, nil, nil, func(r *Router) { dials = countDials(r) })
	waitFor(t, 5*time.Second, "4 endpoints", func() bool { return poolSize(rt.srv.Router(), "gone.home") == 4 })

	code, body, resp := rt.do(t, rt.newRequest(t, http.MethodGet, "gone.home", "/", nil))
	if code != http.StatusBadGateway || resp.Header.Get("X-Cf-Routererror") != "endpoint_failure" {
		t.Fatalf("got %d %q (%v), want 502 endpoint_failure", code, body, resp.Header)
	}
	total := 0
	for _, n := range dials.dials {
		total += n
	}
	if total != DefaultMaxAttempts || len(dials.dials) != DefaultMaxAttempts {
		t.Fatalf("dials: got %v, want %d distinct endpoints once each", dials.dials, DefaultMaxAttempts)
	}
}

func TestFailureAfterRequestWasWrittenIsNotRetried(t *testing.T) {
	src := newFakeSource()
	// The crashing instance reads the whole request (the app saw it) and
	// drops the connection without answering.
	crash := newBackend(t, 0, func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			conn.Close()
		}
	})
	good := newBackend(t, 1, nil)
	routeWith(src, "crashy", "crashy.home", crash, good)
	rt := startRouter(t, testConfig(), src, nil, nil, nil)
	waitFor(t, 5*time.Second, "2 endpoints", func() bool { return poolSize(rt.srv.Router(), "crashy.home") == 2 })

	var ok, bad int64
	for i := 0; i < 20; i++ {
		// A GET has no body to tell "written" from "not written": only the
		// connection trace can.
		req := rt.newRequest(t, http.MethodGet, "crashy.home", "/", nil)
		if i%2 == 1 {
			req = rt.newRequest(t, http.MethodPost, "crashy.home", "/", strings.NewReader("charge the card"))
		}
		switch code, body, _ := rt.do(t, req); code {
		case http.StatusOK:
			ok++
		case http.StatusBadGateway:
			bad++
		default:
			t.Fatalf("status %d %q, want 200 or 502", code, body)
		}
	}
	if crash.hits.Load() == 0 {
		t.Fatalf("the crashing backend was never picked")
	}
	if bad != crash.hits.Load() || ok != good.hits.Load() {
		t.Fatalf("a request the app saw was retried: 502s %d, crash hits %d, 200s %d, good hits %d",
			bad, crash.hits.Load(), ok, good.hits.Load())
	}
}

func TestSlowBackendIs504(t *testing.T) {
	src := newFakeSource()
	release := make(chan struct{})
	slow := newBackend(t, 0, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	t.Cleanup(func() { close(release) })
	routeWith(src, "slow", "slow.home", slow)
	cfg := testConfig()
	cfg.RequestTimeout = 100 * time.Millisecond
	rt := startRouter(t, cfg, src, nil, nil, nil)
	waitFor(t, 5*time.Second, "route", func() bool { return poolSize(rt.srv.Router(), "slow.home") == 1 })
	if code, body := rt.get(t, "slow.home", "/"); code != http.StatusGatewayTimeout {
		t.Fatalf("got %d %q, want 504", code, body)
	}
}

func TestRouteDeletedDuringRetryIs404(t *testing.T) {
	src := newFakeSource()
	dead := closedPort(t)
	src.putDesired(desiredLRP("bye", 1, "bye.home"))
	src.putActuals(runningAt("bye", 0, dead))
	rt := startRouter(t, testConfig(), src, nil, nil, func(r *Router) {
		orig := r.client.dial
		r.client.dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
			if addr == dead {
				// The LRP is deleted while the request is on its way.
				src.removeLRP("bye")
				waitFor(t, 5*time.Second, "route gone", func() bool { return r.Table().Lookup("bye.home") == nil })
			}
			return orig(ctx, network, addr)
		}
	})
	waitFor(t, 5*time.Second, "route", func() bool { return poolSize(rt.srv.Router(), "bye.home") == 1 })
	code, body, resp := rt.do(t, rt.newRequest(t, http.MethodGet, "bye.home", "/", nil))
	if code != http.StatusNotFound || resp.Header.Get("X-Cf-Routererror") != "unknown_route" {
		t.Fatalf("got %d %q, want 404 unknown_route", code, body)
	}
}

// eofConn reports EOF on every read once broken is set: a keep-alive
// connection the backend closed just as the router reused it.
type eofConn struct {
	net.Conn
	broken *atomic.Bool
}

func (c eofConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if c.broken.Load() {
		return 0, io.EOF
	}
	return n, err
}

func TestBrokenKeepAliveThenRefusedRedialIsRetriedElsewhere(t *testing.T) {
	src := newFakeSource()
	bs := []*backend{newBackend(t, 0, nil), newBackend(t, 1, nil)}
	routeWith(src, "ka", "ka.home", bs...)
	var (
		mu     sync.Mutex
		victim string
		broken atomic.Bool
	)
	rt := startRouter(t, testConfig(), src, nil, nil, func(r *Router) {
		orig := r.client.dial
		r.client.dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
			mu.Lock()
			if victim == "" {
				victim = addr
			}
			isVictim := addr == victim
			mu.Unlock()
			if isVictim && broken.Load() {
				return nil, &net.OpError{Op: "dial", Net: network, Err: syscall.ECONNREFUSED}
			}
			c, err := orig(ctx, network, addr)
			if err != nil || !isVictim {
				return c, err
			}
			return eofConn{Conn: c, broken: &broken}, nil
		}
	})
	waitFor(t, 5*time.Second, "2 endpoints", func() bool { return poolSize(rt.srv.Router(), "ka.home") == 2 })

	// 1: the victim serves and keeps its connection idle. 2: the other one.
	// 3: round-robin reuses the victim's connection, which breaks after the
	// request is written (no response byte); the GET is replayed on a new
	// connection to the victim, whose dial is refused: the request must go
	// to the other endpoint.
	first, _ := rt.get(t, "ka.home", "/")
	broken.Store(true)
	for i := 0; i < 2; i++ {
		if code, body := rt.get(t, "ka.home", "/"); code != http.StatusOK || first != http.StatusOK {
			t.Fatalf("request %d: got %d %q, want 200", i+2, code, body)
		}
	}
}

func TestKeepAliveReuseAndBackendIdleClose(t *testing.T) {
	src := newFakeSource()
	var closed atomic.Int64
	// The app closes idle keep-alive connections almost at once.
	b := newBackendWith(t, 0, nil, func(s *http.Server) {
		s.IdleTimeout = 20 * time.Millisecond
		s.ConnState = func(_ net.Conn, st http.ConnState) {
			if st == http.StateClosed {
				closed.Add(1)
			}
		}
	})
	routeWith(src, "ka", "ka.home", b)
	var dials *dialCounter
	rt := startRouter(t, testConfig(), src, nil, nil, func(r *Router) { dials = countDials(r) })
	waitFor(t, 5*time.Second, "route", func() bool { return poolSize(rt.srv.Router(), "ka.home") == 1 })

	// Back-to-back requests share one backend connection.
	for i := 0; i < 20; i++ {
		req := rt.newRequest(t, http.MethodGet, "ka.home", "/", nil)
		if code, body, _ := rt.do(t, req); code != 200 {
			t.Fatalf("request %d: %d %q", i, code, body)
		}
	}
	if got := dials.count(b.addr()); got > 2 {
		t.Errorf("dials for 20 back-to-back requests: got %d, want 1 (keep-alive)", got)
	}
	// Each time the app has closed the idle connection, the next request
	// (GET, or POST with a body) still succeeds on the only instance.
	for i, method := range []string{http.MethodGet, http.MethodPost, http.MethodGet, http.MethodPost} {
		n := closed.Load()
		waitFor(t, 5*time.Second, "backend idle close", func() bool { return closed.Load() > n })
		var body io.Reader
		if method == http.MethodPost {
			body = strings.NewReader("form=data")
		}
		if code, text, _ := rt.do(t, rt.newRequest(t, method, "ka.home", "/", body)); code != 200 {
			t.Fatalf("%s %d after the app closed the idle connection: %d %q", method, i, code, text)
		}
	}
}
