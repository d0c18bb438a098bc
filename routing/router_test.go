package routing

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/diegod/diegod/model"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestThreeBackendsShareRequestsEvenly(t *testing.T) {
	src := newFakeSource()
	bs := []*backend{newBackend(t, 0, nil), newBackend(t, 1, nil), newBackend(t, 2, nil)}
	routeWith(src, "hello", "hello.home", bs...)
	rt := startRouter(t, testConfig(), src, nil, nil, nil)
	waitFor(t, 5*time.Second, "3 endpoints", func() bool { return poolSize(rt.srv.Router(), "hello.home") == 3 })

	counts := map[string]int{}
	for i := 0; i < 300; i++ {
		code, body := rt.get(t, "hello.home", "/")
		if code != http.StatusOK {
			t.Fatalf("request %d: status %d, want 200 (%s)", i, code, body)
		}
		counts[body]++
	}
	for _, b := range bs {
		want := "index=" + string(rune('0'+b.index))
		if n := counts[want]; n < 90 || n > 110 {
			t.Errorf("backend %d: got %d of 300 requests, want 100±10%% (all: %v)", b.index, n, counts)
		}
	}
}

func TestUnknownHostIs404AndEmptyRouteIs503(t *testing.T) {
	src := newFakeSource()
	src.putDesired(desiredLRP("idle", 1, "idle.home"))
	rt := startRouter(t, testConfig(), src, nil, nil, nil)
	waitFor(t, 5*time.Second, "idle route", func() bool { return poolSize(rt.srv.Router(), "idle.home") == 0 })

	code, body, resp := rt.do(t, rt.newRequest(t, http.MethodGet, "Nope.Home:8080", "/", nil))
	if code != http.StatusNotFound || !strings.Contains(body, "nope.home") {
		t.Errorf("unknown host: got %d %q, want 404 naming nope.home", code, body)
	}
	if got := resp.Header.Get("X-Cf-Routererror"); got != "unknown_route" {
		t.Errorf("X-Cf-Routererror: got %q, want unknown_route", got)
	}
	code, body, resp = rt.do(t, rt.newRequest(t, http.MethodGet, "idle.home", "/", nil))
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "idle.home") {
		t.Errorf("no backend: got %d %q, want 503 naming idle.home", code, body)
	}
	if got := resp.Header.Get("X-Cf-Routererror"); got != "no_endpoints" {
		t.Errorf("X-Cf-Routererror: got %q, want no_endpoints", got)
	}
}

func TestWildcardAndCaseInsensitiveHosts(t *testing.T) {
	src := newFakeSource()
	wild, exact := newBackend(t, 0, nil), newBackend(t, 1, nil)
	routeWith(src, "wild", "*.Apps.Home", wild)
	routeWith(src, "exact", "api.apps.home", exact)
	rt := startRouter(t, testConfig(), src, nil, nil, nil)
	waitFor(t, 5*time.Second, "routes", func() bool {
		return poolSize(rt.srv.Router(), "x.apps.home") == 1 && poolSize(rt.srv.Router(), "api.apps.home") == 1
	})
	for _, tt := range []struct {
		host     string
		wantCode int
		wantBody string
	}{
		{"foo.apps.home", 200, "index=0"},
		{"FOO.APPS.HOME:8080", 200, "index=0"},
		{"a.b.apps.home", 200, "index=0"},
		{"API.apps.home", 200, "index=1"},
		{"apps.home", 404, ""},
	} {
		code, body := rt.get(t, tt.host, "/")
		if code != tt.wantCode || (tt.wantBody != "" && body != tt.wantBody) {
			t.Errorf("Host %s: got %d %q, want %d %q", tt.host, code, body, tt.wantCode, tt.wantBody)
		}
	}
}

// echoHeaders answers with the request's headers and Host as JSON.
func echoHeaders(w http.ResponseWriter, r *http.Request) {
	h := r.Header.Clone()
	h.Set("Host", r.Host)
	h.Set("X-Seen-Uri", r.RequestURI)
	_ = json.NewEncoder(w).Encode(h)
}

var uuidPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestForwardingHeaders(t *testing.T) {
	src := newFakeSource()
	b := newBackend(t, 3, echoHeaders)
	routeWith(src, "hdr", "hdr.home", b)
	rt := startRouter(t, testConfig(), src, nil, nil, nil)
	waitFor(t, 5*time.Second, "route", func() bool { return poolSize(rt.srv.Router(), "hdr.home") == 1 })

	send := func(set map[string]string) http.Header {
		t.Helper()
		req := rt.newRequest(t, http.MethodGet, "hdr.home:8080", "/p/a%20th?q=1&r=2", nil)
		for k, v := range set {
			req.Header.Set(k, v)
		}
		code, body, _ := rt.do(t, req)
		if code != 200 {
			t.Fatalf("status %d: %s", code, body)
		}
		var h http.Header
		if err := json.Unmarshal([]byte(body), &h); err != nil {
			t.Fatalf("decode %q: %v", body, err)
		}
		return h
	}

	h := send(map[string]string{
		"X-CF-InstanceID": "forged", "X-CF-ApplicationID": "forged",
		"Connection": "X-Secret", "X-Secret": "hop", "Keep-Alive": "timeout=5",
	})
	for k, want := range map[string]string{
		"X-Forwarded-For":    "127.0.0.1",
		"X-Forwarded-Proto":  "http",
		"X-Forwarded-Host":   "hdr.home:8080",
		"Host":               "hdr.home:8080",
		"X-Seen-Uri":         "/p/a%20th?q=1&r=2",
		"X-Cf-Applicationid": "hdr",
		"X-Cf-Instanceid":    "hdr-ig-3",
		"X-Cf-Instanceindex": "3",
		"X-Secret":           "",
		"Keep-Alive":         "",
	} {
		if got := h.Get(k); got != want {
			t.Errorf("%s: got %q, want %q", k, got, want)
		}
	}
	if id := h.Get("X-Request-Id"); !uuidPattern.MatchString(id) {
		t.Errorf("generated X-Request-Id: got %q, want a v4 UUID", id)
	}

	h = send(map[string]string{
		"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https",
		"X-Forwarded-Host": "public.example", "X-Request-Id": "abc-123",
	})
	for k, want := range map[string]string{
		"X-Forwarded-For":   "203.0.113.7, 127.0.0.1",
		"X-Forwarded-Proto": "https",
		"X-Forwarded-Host":  "public.example",
		"X-Request-Id":      "abc-123",
	} {
		if got := h.Get(k); got != want {
			t.Errorf("with client headers, %s: got %q, want %q", k, got, want)
		}
	}
	// An unusable request id is replaced.
	h = send(map[string]string{"X-Request-Id": "bad id\"with quotes"})
	if id := h.Get("X-Request-Id"); !uuidPattern.MatchString(id) {
		t.Errorf("replaced X-Request-Id: got %q, want a v4 UUID", id)
	}
}

func TestLeastConnectionAvoidsBusyEndpoint(t *testing.T) {
	src := newFakeSource()
	release := make(chan struct{})
	var releaseOnce sync.Once
	t.Cleanup(func() { releaseOnce.Do(func() { close(release) }) })
	busy := newBackend(t, 0, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hold" {
			<-release
		}
		w.Write([]byte("index=0"))
	})
	idle1, idle2 := newBackend(t, 1, nil), newBackend(t, 2, nil)
	routeWith(src, "lc", "lc.home", busy, idle1, idle2)
	cfg := testConfig()
	cfg.RouteBalancers = map[string]Balancer{"LC.home": BalancerLeastConnection}
	rt := startRouter(t, cfg, src, nil, nil, nil)
	waitFor(t, 5*time.Second, "3 endpoints", func() bool { return poolSize(rt.srv.Router(), "lc.home") == 3 })

	// Send /hold requests one by one until the busy backend holds one: the
	// idle backends answer /hold at once.
	var wg sync.WaitGroup
	for busy.hits.Load() < 1 {
		before := busy.hits.Load()
		done := make(chan struct{})
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(done)
			resp, err := rt.client.Do(rt.newRequest(t, http.MethodGet, "lc.home", "/hold", nil))
			if err == nil {
				resp.Body.Close()
			}
		}()
		waitFor(t, 5*time.Second, "held or answered request", func() bool {
			select {
			case <-done:
				return true
			default:
				return busy.hits.Load() > before
			}
		})
	}
	idle1.hits.Store(0)
	idle2.hits.Store(0)
	before := busy.hits.Load()
	for i := 0; i < 20; i++ {
		if code, body := rt.get(t, "lc.home", "/"); code != 200 {
			t.Fatalf("status %d: %s", code, body)
		}
	}
	if got := busy.hits.Load() - before; got != 0 {
		t.Errorf("busy endpoint got %d of 20 requests, want 0", got)
	}
	if idle1.hits.Load() == 0 || idle2.hits.Load() == 0 {
		t.Errorf("idle endpoints got %d and %d requests, want both > 0", idle1.hits.Load(), idle2.hits.Load())
	}
	releaseOnce.Do(func() { close(release) })
	wg.Wait()
}

func TestAccessLogAndMetrics(t *testing.T) {
	src := newFakeSource()
	b := newBackend(t, 2, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusCreated)
		w.Write([]byte("made"))
	})
	routeWith(src, "logme", "log.home", b)
	src.putDesired(desiredLRP("idle", 1, "idle.home"))
	sink := &recordingSink{}
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	rt := startRouter(t, testConfig(), src, sink, m, nil)
	waitFor(t, 5*time.Second, "routes", func() bool {
		return poolSize(rt.srv.Router(), "log.home") == 1 && poolSize(rt.srv.Router(), "idle.home") == 0
	})

	req := rt.newRequest(t, http.MethodPost, "log.home", "/things?x=1", strings.NewReader("hello"))
	req.Header.Set("X-Request-Id", "req-42")
	if code, _, _ := rt.do(t, req); code != http.StatusCreated {
		t.Fatalf("status %d, want 201", code)
	}
	rt.get(t, "idle.home", "/")
	rt.get(t, "none.home", "/")

	lines := sink.all()
	if len(lines) != 1 {
		t.Fatalf("access lines: got %d (%+v), want 1 (only the routed request)", len(lines), lines)
	}
	l := lines[0]
	if l.Source != model.LogSourceRouter || l.Stream != model.StreamOut || l.ProcessGUID != "logme" || l.Index != 2 {
		t.Errorf("line: got %+v, want RTR/OUT for logme index 2", l)
	}
	for _, want := range []string{
		`"POST /things?x=1 HTTP/1.1" 201 5 4 `, `"` + b.addr() + `"`, `vcap_request_id:"req-42"`,
		`app_id:"logme"`, `app_index:"2"`, `instance_id:"logme-ig-2"`, "response_time:",
	} {
		if !strings.Contains(l.Text, want) {
			t.Errorf("line %q lacks %q", l.Text, want)
		}
	}
	if got := l.Prefix(); got != "[RTR/2] OUT" {
		t.Errorf("prefix: got %q, want [RTR/2] OUT", got)
	}

	for class, want := range map[int]float64{2: 1, 4: 1, 5: 1} {
		if got := testutil.ToFloat64(m.requests[class]); got != want {
			t.Errorf("requests %dxx: got %v, want %v", class, got, want)
		}
	}
	if got := testutil.ToFloat64(m.routes); got != 2 {
		t.Errorf("routes gauge: got %v, want 2", got)
	}
	if n, err := testutil.GatherAndCount(reg, "diegod_router_backend_latency_seconds"); err != nil || n != 1 {
		t.Errorf("latency histogram: got %d series (%v), want 1", n, err)
	}
}
