package routing

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"
)

// exchange is one client request on its way through the router.
type exchange struct {
	router   *Router
	in       *http.Request
	w        http.ResponseWriter
	pool     *Pool
	balancer Balancer
	start    time.Time

	requestID string
	stickyID  string // __VCAP_ID__ honoured for this request, or ""
	clientIP  string

	tried    tried
	triedBuf [4]*Endpoint
	endpoint *Endpoint      // the last endpoint tried
	state    *endpointState // the endpoint holding an active count, released by finish
	body     trackedBody

	upgradeConn *backendConn // the backend connection of a 101 response
	retries     int

	status int
	sent   int64
}

// serve proxies the request and reports whether the client connection must
// be aborted (a response was under way when copying failed).
func (ex *exchange) serve() bool {
	in := ex.in
	ex.requestID = in.Header.Get(headerRequestID)
	if !validRequestID(ex.requestID) {
		ex.requestID = newRequestID()
		in.Header.Set(headerRequestID, ex.requestID)
	}
	ex.stickyID = ex.router.stickyInstance(in)
	upType := upgradeType(in.Header)
	out := ex.outbound(upType)
	resp, err := ex.roundTrip(out)
	if err != nil {
		ex.fail(err)
		return false
	}
	if resp.StatusCode == http.StatusSwitchingProtocols {
		ex.upgrade(resp, upType)
		return false
	}
	return ex.copyResponse(resp)
}

// Header names (canonical forms).
const (
	headerRequestID       = "X-Request-Id"
	headerForwardedFor    = "X-Forwarded-For"
	headerForwardedProto  = "X-Forwarded-Proto"
	headerForwardedHost   = "X-Forwarded-Host"
	headerCFApplicationID = "X-Cf-Applicationid"
	headerCFInstanceID    = "X-Cf-Instanceid"
	headerCFInstanceIndex = "X-Cf-Instanceindex"
)

// hopHeaders are removed in both directions (RFC 7230 §6.1), besides those
// named in Connection.
var hopHeaders = []string{
	"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
	"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade",
}

func removeHopByHop(h http.Header) {
	for _, f := range h["Connection"] {
		for _, name := range strings.Split(f, ",") {
			if name = strings.TrimSpace(name); name != "" {
				h.Del(name)
			}
		}
	}
	for _, name := range hopHeaders {
		delete(h, name)
	}
}

func hasToken(values []string, token string) bool {
	for _, v := range values {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// upgradeType returns the protocol of an Upgrade request or response, or "".
func upgradeType(h http.Header) string {
	if !hasToken(h["Connection"], "upgrade") {
		return ""
	}
	return h.Get("Upgrade")
}

// outbound turns the client request into the backend request. The client's
// header map is reused (the handler owns it).
func (ex *exchange) outbound(upType string) *http.Request {
	in := ex.in
	h := in.Header
	teTrailers := hasToken(h["Te"], "trailers")
	removeHopByHop(h)
	if teTrailers {
		h["Te"] = []string{"trailers"}
	}
	if upType != "" {
		h["Connection"] = []string{"Upgrade"}
		h["Upgrade"] = []string{upType}
	}
	ex.clientIP, _, _ = net.SplitHostPort(in.RemoteAddr)
	if prior := h[headerForwardedFor]; len(prior) > 0 {
		h[headerForwardedFor] = []string{strings.Join(prior, ", ") + ", " + ex.clientIP}
	} else {
		h[headerForwardedFor] = []string{ex.clientIP}
	}
	if len(h[headerForwardedProto]) == 0 {
		proto := "http"
		if in.TLS != nil {
			proto = "https"
		}
		h[headerForwardedProto] = []string{proto}
	}
	if len(h[headerForwardedHost]) == 0 {
		h[headerForwardedHost] = []string{in.Host}
	}
	if _, ok := h["User-Agent"]; !ok {
		h["User-Agent"] = []string{""} // no Go default User-Agent
	}

	out := new(http.Request)
	*out = *in
	path := in.URL.Path
	if path == "" {
		path = "/"
	}
	out.URL = &url.URL{Scheme: "http", Path: path, RawPath: in.URL.RawPath, RawQuery: in.URL.RawQuery}
	out.RequestURI = ""
	out.Proto, out.ProtoMajor, out.ProtoMinor = "HTTP/1.1", 1, 1
	out.Close = false
	out.Header = h
	if in.ContentLength == 0 {
		out.Body = nil
	} else if in.Body != nil && in.Body != http.NoBody {
		ex.body.rc = in.Body
		out.Body = &ex.body
	}
	return out
}

// roundTrip sends the request to up to MaxAttempts distinct endpoints,
// moving on only when an attempt failed before the app could have seen it.
// A retry reads the current table: endpoints removed since the request
// started are not tried, and a route deleted meanwhile answers 404.
func (ex *exchange) roundTrip(out *http.Request) (*http.Response, error) {
	r := ex.router
	var lastErr error
	for n := 0; n < r.cfg.MaxAttempts; n++ {
		if n > 0 {
			if err := ex.refreshPool(); err != nil {
				return nil, err
			}
		}
		ep := ex.choose(n)
		if ep == nil {
			break
		}
		ex.tried = append(ex.tried, ep)
		ex.endpoint = ep
		resp, retry, err := ex.attempt(out, ep, n)
		if err == nil {
			return resp, nil
		}
		lastErr = err
		if !retry || ex.in.Context().Err() != nil {
			return nil, err
		}
		r.log.Debug().Err(err).Str(logKeyHost, ex.pool.Host).Str(logKeyBackend, ep.Address).
			Str(logKeyProcessGUID, ep.ProcessGUID).Int(logKeyIndex, ep.Index).Int(logKeyAttempt, n+1).
			Msg("backend attempt failed")
		if n+1 < r.cfg.MaxAttempts {
			ex.retries++
			r.rec.Retry()
		}
	}
	if lastErr == nil {
		return nil, ErrNoEndpoint
	}
	return nil, fmt.Errorf("%w: %w", ErrAttemptsExhausted, lastErr)
}

// refreshPool switches to the request's pool in the current table.
func (ex *exchange) refreshPool() error {
	p := ex.router.table.Load().Lookup(ex.in.Host)
	switch {
	case p == nil:
		return ErrNoRoute
	case len(p.Endpoints) == 0:
		return ErrNoEndpoint
	case p != ex.pool:
		ex.pool = p
		ex.balancer = ex.router.balancerFor(p.Host)
	}
	return nil
}

// choose returns the endpoint for attempt n: the sticky instance first when
// the request asks for one, then the route's balancer.
func (ex *exchange) choose(n int) *Endpoint {
	now := ex.start.UnixNano() // cool-offs are seconds long: the request's start will do
	if n > 0 {
		now = ex.router.now().UnixNano()
	}
	if n == 0 && ex.stickyID != "" {
		if ep := ex.router.states.pickSticky(ex.pool, ex.stickyID, now); ep != nil {
			return ep
		}
	}
	return ex.router.states.pick(ex.pool, ex.balancer, ex.tried, now)
}

// attempt sends the request to one endpoint. On failure it reports whether
// the request may go to another endpoint.
func (ex *exchange) attempt(out *http.Request, ep *Endpoint, n int) (*http.Response, bool, error) {
	r := ex.router
	if n > 0 {
		cp := new(http.Request)
		*cp = *out
		u := *out.URL
		cp.URL = &u
		cp.Header = out.Header.Clone()
		out = cp
	}
	out.URL.Host = ep.Address
	h := out.Header
	h[headerCFApplicationID] = []string{ep.ProcessGUID}
	h[headerCFInstanceID] = []string{ep.InstanceGUID}
	h[headerCFInstanceIndex] = []string{ep.indexStr}

	st := r.states.get(ep)
	ctx := ex.in.Context()
	replayable := out.Body == nil && idempotent(out.Method)
	var (
		bc  *backendConn
		res *exchangeResult
		err error
	)
	sent := ex.start
	if n > 0 {
		sent = r.now()
	}
	for try := 0; ; try++ {
		bc, err = r.client.get(ctx, ep.Address, sent, try > 0, !replayable)
		if err != nil {
			// No connection: the app cannot have seen anything.
			ex.blame(ep, err)
			return nil, ctx.Err() == nil, err
		}
		st.active.Add(1)
		stop := context.AfterFunc(ctx, func() { _ = bc.conn.SetDeadline(aLongTimeAgo) })
		var written, gotBytes bool
		res, written, gotBytes, err = r.client.roundTrip(bc, out)
		if err == nil {
			res.stop = stop
			break
		}
		stop()
		st.active.Add(-1)
		bodyUntouched := !ex.body.wasRead()
		stale := bc.reused && !gotBytes && bodyUntouched && (!written || replayable)
		switch {
		case ctx.Err() != nil:
			return nil, false, err
		case stale && try == 0:
			// A keep-alive connection the backend closed as it was reused:
			// once more on a fresh connection (as net/http's Transport does).
			continue
		case !written && bodyUntouched:
			// The request never reached the app whole.
			if !bc.reused {
				ex.blame(ep, err)
			}
			return nil, true, err
		}
		return nil, false, err
	}
	r.rec.BackendLatency(r.now().Sub(sent))
	ex.state = st
	resp := res.resp
	if resp.StatusCode == http.StatusSwitchingProtocols {
		res.stop()
		ex.upgradeConn = bc
		return resp, false, nil
	}
	resp.Body = &backendBody{
		rc: resp.Body, res: res, client: r.client, stop: res.stop,
		reusable: !resp.Close && !out.Close,
	}
	return resp, false, nil
}

// aLongTimeAgo is a deadline in the past: it unblocks I/O at once.
var aLongTimeAgo = time.Unix(1, 0)

func idempotent(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return true
	}
	return false
}

// blame starts an endpoint's cool-off after a failure that says it is
// unhealthy.
func (ex *exchange) blame(ep *Endpoint, err error) {
	if ex.in.Context().Err() != nil {
		return
	}
	r := ex.router
	r.states.markFailed(ep, r.now(), r.cfg.FailureCoolOff)
	r.log.Warn().Err(err).Str(logKeyBackend, ep.Address).Str(logKeyProcessGUID, ep.ProcessGUID).
		Int(logKeyIndex, ep.Index).Str(logKeyInstanceGUID, ep.InstanceGUID).
		Msg("endpoint failed, cooling off")
}

// trackedBody wraps the client's request body: it notes whether the
// backend writer read from it (a consumed body cannot be replayed), counts the
// bytes and ignores Close (the server closes the client body; a failed
// attempt must not).
type trackedBody struct {
	rc     io.ReadCloser
	read   atomic.Bool
	n      atomic.Int64
	closed atomic.Bool // the handler returned: the client body is off limits
}

func (b *trackedBody) Read(p []byte) (int, error) {
	if b.closed.Load() {
		return 0, io.ErrClosedPipe
	}
	b.read.Store(true)
	n, err := b.rc.Read(p)
	b.n.Add(int64(n))
	return n, err
}

func (b *trackedBody) Close() error { return nil }

func (b *trackedBody) wasRead() bool { return b.read.Load() }

// copyResponse writes the backend response to the client. It reports
// whether the client connection must be aborted.
func (ex *exchange) copyResponse(resp *http.Response) bool {
	defer resp.Body.Close()
	removeHopByHop(resp.Header)
	ex.router.stickyResponse(ex, resp.Header)
	dst := ex.w.Header()
	for k, vv := range resp.Header {
		dst[k] = vv
	}
	if len(resp.Trailer) > 0 {
		keys := make([]string, 0, len(resp.Trailer))
		for k := range resp.Trailer {
			keys = append(keys, k)
		}
		dst["Trailer"] = []string{strings.Join(keys, ", ")}
	}
	ex.status = resp.StatusCode
	ex.w.WriteHeader(resp.StatusCode)

	err := ex.copyBody(resp.Body, streaming(resp))
	if err != nil {
		return true
	}
	if len(resp.Trailer) > 0 {
		_ = resp.Body.Close() // populates resp.Trailer
		for k, vv := range resp.Trailer {
			dst[k] = vv
		}
	}
	return false
}

// streaming reports whether every chunk must be flushed at once: server-sent
// events and bodies of unknown length.
func streaming(resp *http.Response) bool {
	if resp.ContentLength == -1 {
		return true
	}
	ct := resp.Header.Get("Content-Type")
	return strings.HasPrefix(strings.ToLower(strings.TrimSpace(ct)), "text/event-stream")
}

func (ex *exchange) copyBody(src io.Reader, flush bool) error {
	bp := ex.router.bufs.Get().(*[]byte)
	defer ex.router.bufs.Put(bp)
	buf := *bp
	var rc *http.ResponseController
	if flush {
		rc = http.NewResponseController(ex.w)
	}
	for {
		n, rerr := src.Read(buf)
		if n > 0 {
			w, werr := ex.w.Write(buf[:n])
			ex.sent += int64(w)
			if werr != nil {
				return werr
			}
			if rc != nil {
				if err := rc.Flush(); err != nil {
					return err
				}
			}
		}
		if rerr == io.EOF {
			return nil
		}
		if rerr != nil {
			return rerr
		}
	}
}

// upgrade completes a protocol switch (WebSocket and others): it hijacks
// the client connection, forwards the 101 response and splices the two
// connections until either side ends.
func (ex *exchange) upgrade(resp *http.Response, reqUp string) {
	bc := ex.upgradeConn
	backConn := bc.conn
	if !strings.EqualFold(reqUp, upgradeType(resp.Header)) {
		_ = backConn.Close()
		ex.fail(fmt.Errorf("backend switched to %q, %q was requested", upgradeType(resp.Header), reqUp))
		return
	}
	defer backConn.Close()
	conn, brw, err := http.NewResponseController(ex.w).Hijack()
	if err != nil {
		ex.fail(fmt.Errorf("hijack client connection: %w", err))
		return
	}
	defer conn.Close()
	ex.status = http.StatusSwitchingProtocols
	resp.Body = nil
	if err := resp.Write(brw); err != nil {
		return
	}
	if err := brw.Flush(); err != nil {
		return
	}
	var client io.Reader = conn
	if brw.Reader.Buffered() > 0 {
		client = io.MultiReader(io.LimitReader(brw.Reader, int64(brw.Reader.Buffered())), conn)
	}
	stop := context.AfterFunc(ex.in.Context(), func() {
		_ = conn.Close()
		_ = backConn.Close()
	})
	defer stop()
	var fromBackend atomic.Int64
	var backend io.Reader = backConn
	if n := bc.br.Buffered(); n > 0 {
		backend = io.MultiReader(io.LimitReader(bc.br, int64(n)), backConn)
	}
	errc := make(chan error, 2)
	go func() {
		_, err := io.Copy(backConn, client)
		errc <- err
	}()
	go func() {
		n, err := io.Copy(conn, backend)
		fromBackend.Add(n)
		errc <- err
	}()
	// A clean end of one direction waits for the other (as
	// httputil.ReverseProxy does); an error ends both.
	if err := <-errc; err != nil {
		_ = conn.Close()
		_ = backConn.Close()
	}
	<-errc
	ex.sent = fromBackend.Load()
}

// fail answers a request whose proxying failed before a response started.
func (ex *exchange) fail(err error) {
	if ex.in.Context().Err() != nil {
		ex.status = 499 // the client went away; nothing to answer
		return
	}
	switch {
	case errors.Is(err, ErrNoRoute):
		ex.status = http.StatusNotFound
		writeRouterError(ex.w, ex.status, "unknown_route",
			fmt.Sprintf("Requested route ('%s') does not exist.", printableHost(ex.in.Host)))
		return
	case errors.Is(err, ErrNoEndpoint):
		ex.status = http.StatusServiceUnavailable
		writeRouterError(ex.w, ex.status, "no_endpoints",
			fmt.Sprintf("Requested route ('%s') has no available endpoints.", printableHost(ex.in.Host)))
		return
	}
	ex.status = http.StatusBadGateway
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		ex.status = http.StatusGatewayTimeout
	}
	ex.router.log.Warn().Err(err).Str(logKeyHost, ex.pool.Host).Str(logKeyRequestID, ex.requestID).
		Int(logKeyAttempt, len(ex.tried)).Msg("proxy failed")
	writeRouterError(ex.w, ex.status, "endpoint_failure",
		fmt.Sprintf("backend for route ('%s') failed.", ex.pool.Host))
}
