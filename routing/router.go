package routing

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
)

// Router is the HTTP reverse proxy: an http.Handler that looks the request's
// Host up in the current Table, picks an endpoint with the route's balancer
// and proxies to it, retrying elsewhere on failures that happen before the
// app could have seen the request.
//
// The table is swapped atomically (SetTable); requests in flight keep the
// table they started with. Router is safe for concurrent use.
type Router struct {
	cfg       Config
	log       zerolog.Logger
	sink      LogSink
	rec       Recorder
	table     atomic.Pointer[Table]
	states    states
	client    *backendClient
	balancers map[string]Balancer
	sticky    map[string]bool
	bufs      sync.Pool
	now       func() time.Time
}

// NewRouter returns a Router with an empty table. sink and rec may be nil
// (discarded).
func NewRouter(cfg Config, sink LogSink, rec Recorder, log zerolog.Logger) (*Router, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if sink == nil {
		sink = nopSink{}
	}
	if rec == nil {
		rec = NopRecorder{}
	}
	r := &Router{
		cfg:       cfg,
		log:       log.With().Str(logKeyComponent, "router").Logger(),
		sink:      sink,
		rec:       rec,
		balancers: map[string]Balancer{},
		sticky:    map[string]bool{},
		now:       time.Now,
	}
	for host, b := range cfg.RouteBalancers {
		r.balancers[normalizeRoute(host)] = b
	}
	for _, name := range cfg.StickyCookies {
		r.sticky[name] = true
	}
	r.bufs.New = func() any { b := make([]byte, 32*1024); return &b }
	r.client = newBackendClient(cfg)
	return r, nil
}

// SetTable publishes t; requests that start afterwards use it. The runtime
// state (cool-off, active counts) of endpoints no longer in t is dropped,
// and so are idle connections to addresses no longer in t.
func (r *Router) SetTable(t *Table) {
	r.table.Store(t)
	r.states.prune(t)
	r.client.sweep(t.hasAddress)
}

// Table returns the current table (nil before the first SetTable).
func (r *Router) Table() *Table { return r.table.Load() }

// CloseIdleConnections closes idle keep-alive connections to backends.
func (r *Router) CloseIdleConnections() { r.client.closeIdle() }

// ServeHTTP implements http.Handler.
func (r *Router) ServeHTTP(w http.ResponseWriter, in *http.Request) {
	start := r.now()
	pool := r.table.Load().Lookup(in.Host)
	if pool == nil {
		r.rec.Request(http.StatusNotFound)
		writeRouterError(w, http.StatusNotFound, "unknown_route",
			fmt.Sprintf("Requested route ('%s') does not exist.", printableHost(in.Host)))
		return
	}
	if len(pool.Endpoints) == 0 {
		r.rec.Request(http.StatusServiceUnavailable)
		writeRouterError(w, http.StatusServiceUnavailable, "no_endpoints",
			fmt.Sprintf("Requested route ('%s') has no available endpoints.", printableHost(in.Host)))
		return
	}
	ex := &exchange{router: r, in: in, w: w, pool: pool, start: start, balancer: r.balancerFor(pool.Host)}
	ex.tried = ex.triedBuf[:0]
	abort := ex.serve()
	// A request-body writer still running (the backend answered before
	// reading it all) must not read the client body after we return.
	ex.body.closed.Store(true)
	r.finish(ex)
	if abort {
		// The response is already under way: abort the client connection so
		// the truncation is visible (net/http recovers this silently).
		panic(http.ErrAbortHandler)
	}
}

func (r *Router) balancerFor(host string) Balancer {
	if b, ok := r.balancers[host]; ok {
		return b
	}
	return r.cfg.Balancer
}

// finish releases the endpoint, records metrics and writes the access line.
func (r *Router) finish(ex *exchange) {
	if ex.state != nil {
		ex.state.active.Add(-1)
	}
	r.rec.Request(ex.status)
	if r.cfg.DisableAccessLog || ex.endpoint == nil {
		return
	}
	r.sink.AppendLog(ex.accessLine(r.now()))
}

// writeRouterError writes a short text error with gorouter's
// X-Cf-Routererror header.
func writeRouterError(w http.ResponseWriter, status int, code, msg string) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Cf-Routererror", code)
	w.WriteHeader(status)
	_, _ = fmt.Fprintf(w, "%d %s: %s\n", status, http.StatusText(status), msg)
}

// printableHost returns the host for an error message: normalised, cut to
// 255 bytes, non-printable bytes replaced.
func printableHost(host string) string {
	h := normalizeHost(host)
	if len(h) > 255 {
		h = h[:255]
	}
	return strings.Map(func(c rune) rune {
		if c < 0x20 || c > 0x7e || c == '\'' {
			return '?'
		}
		return c
	}, h)
}
