package routing

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/diegod/diegod/model"
	"github.com/rs/zerolog"
)

// waitFor polls cond until it holds or timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(2 * time.Millisecond) // polling interval, not synchronisation
	}
}

type actualKey struct {
	guid     string
	index    int
	presence model.Presence
}

// fakeSource is a scriptable Source: an in-memory state whose mutations
// commit one event batch each, delivered to subscribers like the store's
// hub (a subscriber that falls behind is closed).
type fakeSource struct {
	mu        sync.Mutex
	index     uint64
	desired   map[string]model.DesiredLRP
	actuals   map[actualKey]model.ActualLRP
	subs      map[chan []model.Event]bool
	snapshots atomic.Int64
	subscribe atomic.Int64
}

var _ Source = (*fakeSource)(nil)

func newFakeSource() *fakeSource {
	return &fakeSource{
		desired: map[string]model.DesiredLRP{},
		actuals: map[actualKey]model.ActualLRP{},
		subs:    map[chan []model.Event]bool{},
	}
}

func (f *fakeSource) Snapshot() Snapshot {
	f.snapshots.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	s := Snapshot{Index: f.index}
	for _, d := range f.desired {
		s.Desired = append(s.Desired, d)
	}
	for _, a := range f.actuals {
		s.Actuals = append(s.Actuals, a)
	}
	// Map order: Build must not depend on the order of rows.
	return s
}

func (f *fakeSource) Subscribe(ctx context.Context, buffer int) <-chan []model.Event {
	f.subscribe.Add(1)
	ch := make(chan []model.Event, buffer)
	f.mu.Lock()
	f.subs[ch] = true
	f.mu.Unlock()
	context.AfterFunc(ctx, func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.closeSub(ch)
	})
	return ch
}

func (f *fakeSource) closeSub(ch chan []model.Event) {
	if f.subs[ch] {
		delete(f.subs, ch)
		close(ch)
	}
}

// pending returns the batches queued for subscribers and not yet read.
func (f *fakeSource) pending() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for ch := range f.subs {
		n += len(ch)
	}
	return n
}

// dropSubscribers closes every subscription (a store that restarted).
func (f *fakeSource) dropSubscribers() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for ch := range f.subs {
		f.closeSub(ch)
	}
}

// commit applies fn under the lock and publishes the events it returns.
func (f *fakeSource) commit(fn func() []model.Event) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.index++
	events := fn()
	for i := range events {
		events[i].Index = f.index
	}
	for ch := range f.subs {
		select {
		case ch <- events:
		default:
			f.closeSub(ch)
		}
	}
}

func (f *fakeSource) putDesired(d model.DesiredLRP) {
	f.commit(func() []model.Event {
		e := model.Event{Type: model.EventDesiredLRPCreated, DesiredAfter: &d}
		if old, ok := f.desired[d.ProcessGUID]; ok {
			e.Type, e.DesiredBefore = model.EventDesiredLRPChanged, &old
		}
		f.desired[d.ProcessGUID] = d
		return []model.Event{e}
	})
}

func (f *fakeSource) putActuals(as ...model.ActualLRP) {
	f.commit(func() []model.Event {
		var events []model.Event
		for _, a := range as {
			a := a
			k := actualKey{a.ProcessGUID, a.Index, a.Presence}
			e := model.Event{Type: model.EventActualLRPInstanceCreated, ActualAfter: &a}
			if old, ok := f.actuals[k]; ok {
				e.Type, e.ActualBefore = model.EventActualLRPInstanceChanged, &old
			}
			f.actuals[k] = a
			events = append(events, e)
		}
		return events
	})
}

// removeActuals deletes the ORDINARY rows of the indices in one batch (a
// scale-down).
func (f *fakeSource) removeActuals(guid string, indices ...int) {
	f.commit(func() []model.Event {
		var events []model.Event
		for _, i := range indices {
			k := actualKey{guid, i, model.PresenceOrdinary}
			if old, ok := f.actuals[k]; ok {
				delete(f.actuals, k)
				events = append(events, model.Event{Type: model.EventActualLRPInstanceRemoved, ActualBefore: &old})
			}
		}
		return events
	})
}

// removeLRP deletes a DesiredLRP and all its rows in one batch.
func (f *fakeSource) removeLRP(guid string) {
	f.commit(func() []model.Event {
		var events []model.Event
		if old, ok := f.desired[guid]; ok {
			delete(f.desired, guid)
			events = append(events, model.Event{Type: model.EventDesiredLRPRemoved, DesiredBefore: &old})
		}
		for k, a := range f.actuals {
			if k.guid == guid {
				a := a
				delete(f.actuals, k)
				events = append(events, model.Event{Type: model.EventActualLRPInstanceRemoved, ActualBefore: &a})
			}
		}
		return events
	})
}

// recordingSink collects access lines.
type recordingSink struct {
	mu    sync.Mutex
	lines []model.LogLine
}

func (s *recordingSink) AppendLog(l model.LogLine) {
	s.mu.Lock()
	s.lines = append(s.lines, l)
	s.mu.Unlock()
}

func (s *recordingSink) all() []model.LogLine {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]model.LogLine(nil), s.lines...)
}

// desiredLRP returns an LRP routed at hosts on container port 8080.
func desiredLRP(guid string, instances int, hosts ...string) model.DesiredLRP {
	return model.DesiredLRP{
		ProcessGUID: guid, Instances: instances, Ports: []uint16{8080}, Routes: hosts,
		Action: &model.Action{Run: &model.RunAction{Path: "/bin/true"}},
	}
}

// runningAt returns the RUNNING row of guid/index reachable at addr
// ("127.0.0.1:port") as its host address and mapped host port.
func runningAt(guid string, index int, addr string) model.ActualLRP {
	host, port, _ := net.SplitHostPort(addr)
	p, _ := strconv.Atoi(port)
	return model.ActualLRP{
		ActualLRPKey:         model.ActualLRPKey{ProcessGUID: guid, Index: index},
		ActualLRPInstanceKey: model.ActualLRPInstanceKey{InstanceGUID: fmt.Sprintf("%s-ig-%d", guid, index), CellID: "cell-1"},
		ActualLRPNetInfo: model.ActualLRPNetInfo{
			Address: host, Ports: []model.PortMapping{{ContainerPort: 8080, HostPort: uint16(p)}},
		},
		State:           model.StateRunning,
		Presence:        model.PresenceOrdinary,
		ModificationTag: model.ModificationTag{Epoch: "e", Index: 1},
	}
}

// backend is a loopback app instance answering "index=N".
type backend struct {
	*httptest.Server
	index int
	hits  atomic.Int64
}

func (b *backend) addr() string { u, _ := url.Parse(b.URL); return u.Host }

// newBackend starts an instance; handler may be nil (answers "index=N").
func newBackend(t *testing.T, index int, handler http.HandlerFunc) *backend {
	t.Helper()
	return newBackendWith(t, index, handler, nil)
}

// newBackendWith is newBackend with the server configured before it starts.
func newBackendWith(t *testing.T, index int, handler http.HandlerFunc, configure func(*http.Server)) *backend {
	t.Helper()
	b := &backend{index: index}
	b.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.hits.Add(1)
		if handler != nil {
			handler(w, r)
			return
		}
		_, _ = io.Copy(io.Discard, r.Body)
		fmt.Fprintf(w, "index=%d", index)
	}))
	if configure != nil {
		configure(b.Config)
	}
	b.Start()
	t.Cleanup(b.Close)
	return b
}

// testConfig is DefaultConfig on a loopback port.
func testConfig() Config {
	c := DefaultConfig()
	c.ListenAddr = "127.0.0.1:0"
	c.ShutdownTimeout = 2 * time.Second
	return c
}

// routerUnderTest is a Server running on loopback for one test.
type routerUnderTest struct {
	srv    *Server
	url    string
	client *http.Client
}

// startRouter runs a Server over src; tweak may adjust the Router before it
// serves (clock, dialer).
func startRouter(t *testing.T, cfg Config, src Source, sink LogSink, rec Recorder, tweak func(*Router)) *routerUnderTest {
	t.Helper()
	srv, err := NewServer(cfg, src, sink, rec, zerolog.Nop())
	if err != nil {
		t.Fatalf("NewServer: %v", err)
	}
	if tweak != nil {
		tweak(srv.Router())
	}
	ln, err := net.Listen("tcp", cfg.ListenAddr)
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve returned %v, want nil", err)
		}
	})
	waitFor(t, 5*time.Second, "first table", func() bool { return srv.Router().Table() != nil })
	tr := &http.Transport{MaxIdleConnsPerHost: 16}
	t.Cleanup(tr.CloseIdleConnections)
	return &routerUnderTest{
		srv:    srv,
		url:    "http://" + ln.Addr().String(),
		client: &http.Client{Transport: tr, Timeout: 10 * time.Second},
	}
}

// get sends a request for host and returns status, body and response.
func (r *routerUnderTest) do(t *testing.T, req *http.Request) (int, string, *http.Response) {
	t.Helper()
	resp, err := r.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s (Host %s): %v", req.Method, req.URL, req.Host, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return resp.StatusCode, string(b), resp
}

func (r *routerUnderTest) newRequest(t *testing.T, method, host, path string, body io.Reader) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, r.url+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	return req
}

func (r *routerUnderTest) get(t *testing.T, host, path string) (int, string) {
	t.Helper()
	code, body, _ := r.do(t, r.newRequest(t, http.MethodGet, host, path, nil))
	return code, body
}

// routeWith publishes an LRP routed at host with one RUNNING row per backend.
func routeWith(src *fakeSource, guid, host string, bs ...*backend) {
	src.putDesired(desiredLRP(guid, len(bs), host))
	var rows []model.ActualLRP
	for _, b := range bs {
		rows = append(rows, runningAt(guid, b.index, b.addr()))
	}
	if len(rows) > 0 {
		src.putActuals(rows...)
	}
}

// poolSize returns the number of endpoints behind host in the router's
// current table, or -1 when the host has no route.
func poolSize(r *Router, host string) int {
	p := r.Table().Lookup(host)
	if p == nil {
		return -1
	}
	return len(p.Endpoints)
}
