package routing

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"syscall"
	"time"
)

// backendClient speaks HTTP/1.1 to backends over a bounded pool of
// keep-alive connections. Unlike http.Transport it needs no goroutines per
// connection: the request is written and the response read in the calling
// goroutine (a request body is written from a second one, so a backend may
// answer before it has read the whole body).
type backendClient struct {
	dial          func(ctx context.Context, network, addr string) (net.Conn, error)
	maxPerHost    int
	maxIdle       int
	idleTimeout   time.Duration
	headerTimeout time.Duration

	mu        sync.Mutex
	idle      map[string][]*backendConn
	nIdle     int
	lastSweep time.Time
}

// checkIdleAfter: a connection idle for longer is probed before reuse (a
// backend may have closed it); one reused sooner is not (no extra syscall
// under load).
const checkIdleAfter = time.Second

func newBackendClient(cfg Config) *backendClient {
	d := &net.Dialer{Timeout: cfg.DialTimeout, KeepAlive: 30 * time.Second}
	return &backendClient{
		dial:          d.DialContext,
		maxPerHost:    cfg.MaxIdleConnsPerBackend,
		maxIdle:       cfg.MaxIdleConns,
		idleTimeout:   cfg.IdleTimeout,
		headerTimeout: cfg.RequestTimeout,
		idle:          map[string][]*backendConn{},
	}
}

// backendConn is one connection to a backend.
type backendConn struct {
	conn      net.Conn
	br        *bufio.Reader
	bw        *bufio.Writer
	addr      string
	nread     int64 // bytes read from conn
	idleSince time.Time
	reused    bool
}

// Read counts what the bufio.Reader takes from the connection.
func (c *backendConn) Read(p []byte) (int, error) {
	n, err := c.conn.Read(p)
	c.nread += int64(n)
	return n, err
}

// get returns an idle connection to addr or dials a new one (always a new
// one when fresh); now is about the current time (a request's start). An idle connection is probed first when probe is set or
// when it has been idle for checkIdleAfter. A dial error is returned as is
// (a *net.OpError with Op "dial").
func (c *backendClient) get(ctx context.Context, addr string, now time.Time, fresh, probe bool) (*backendConn, error) {
	c.mu.Lock()
	for list := c.idle[addr]; len(list) > 0 && !fresh; list = c.idle[addr] {
		bc := list[len(list)-1]
		list[len(list)-1] = nil
		c.idle[addr] = list[:len(list)-1]
		c.nIdle--
		c.mu.Unlock()
		idle := now.Sub(bc.idleSince)
		if idle < c.idleTimeout && ((!probe && idle < checkIdleAfter) || bc.alive()) {
			bc.reused = true
			return bc, nil
		}
		_ = bc.conn.Close()
		c.mu.Lock()
	}
	c.mu.Unlock()
	conn, err := c.dial(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	bc := &backendConn{conn: conn, addr: addr}
	bc.br = bufio.NewReaderSize(bc, 4096)
	bc.bw = bufio.NewWriterSize(conn, 4096)
	return bc, nil
}

// alive probes an idle connection without blocking: a closed one reads EOF,
// one with unexpected data is not reusable either.
func (bc *backendConn) alive() bool {
	if bc.br.Buffered() > 0 {
		return false
	}
	sc, ok := bc.conn.(syscall.Conn)
	if !ok {
		return true
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	alive := false
	var b [1]byte
	err = rc.Read(func(fd uintptr) bool {
		_, _, rerr := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		alive = errors.Is(rerr, syscall.EAGAIN)
		return true
	})
	return err == nil && alive
}

// put returns a connection whose exchange completed cleanly to the pool,
// or closes it when the pool is full.
func (c *backendClient) put(bc *backendConn) {
	now := time.Now()
	bc.idleSince = now
	c.mu.Lock()
	if len(c.idle[bc.addr]) >= c.maxPerHost || (c.maxIdle > 0 && c.nIdle >= c.maxIdle) {
		c.mu.Unlock()
		_ = bc.conn.Close()
		return
	}
	c.idle[bc.addr] = append(c.idle[bc.addr], bc)
	c.nIdle++
	sweep := now.Sub(c.lastSweep) > c.idleTimeout/2
	c.mu.Unlock()
	if sweep {
		c.sweep(nil)
	}
}

// sweep closes idle connections past the idle timeout and, when keep is not
// nil, those to addresses keep rejects.
func (c *backendClient) sweep(keep func(addr string) bool) {
	now := time.Now()
	var doomed []*backendConn
	c.mu.Lock()
	c.lastSweep = now
	for addr, list := range c.idle {
		kept := list[:0]
		for _, bc := range list {
			if now.Sub(bc.idleSince) >= c.idleTimeout || (keep != nil && !keep(addr)) {
				doomed = append(doomed, bc)
				c.nIdle--
				continue
			}
			kept = append(kept, bc)
		}
		clear(list[len(kept):])
		if len(kept) == 0 {
			delete(c.idle, addr)
		} else {
			c.idle[addr] = kept
		}
	}
	c.mu.Unlock()
	for _, bc := range doomed {
		_ = bc.conn.Close()
	}
}

// closeIdle closes every idle connection.
func (c *backendClient) closeIdle() {
	c.sweep(func(string) bool { return false })
}

// exchangeResult is a backend's answer on one connection.
type exchangeResult struct {
	resp *http.Response
	bc   *backendConn
	// wrote reports the request write's outcome once it ended.
	wrote chan error
	// stop deregisters the exchange's cancellation hook; it reports false
	// when the hook already ran (the connection is then unusable).
	stop func() bool
}

// roundTrip writes req on bc and reads the response head (1xx interim
// responses other than 101 are skipped). On error the connection is closed
// and the returned flags say how far the exchange got: written is true when
// the whole request was written; gotBytes when any response byte arrived.
func (c *backendClient) roundTrip(bc *backendConn, req *http.Request) (res *exchangeResult, written, gotBytes bool, err error) {
	startRead := bc.nread
	wrote := make(chan error, 1)
	if req.Body == nil {
		werr := req.Write(bc.bw)
		if werr == nil {
			werr = bc.bw.Flush()
		}
		wrote <- werr
		if werr != nil {
			_ = bc.conn.Close()
			return nil, false, false, werr
		}
	} else {
		go func() {
			werr := req.Write(bc.bw)
			if werr == nil {
				werr = bc.bw.Flush()
			}
			wrote <- werr
		}()
	}
	_ = bc.conn.SetReadDeadline(time.Now().Add(c.headerTimeout))
	var resp *http.Response
	for i := 0; ; i++ {
		resp, err = http.ReadResponse(bc.br, req)
		if err != nil || resp.StatusCode >= 200 || resp.StatusCode == http.StatusSwitchingProtocols || i == 5 {
			break
		}
	}
	if err != nil {
		_ = bc.conn.Close()
		werr := <-wrote
		return nil, werr == nil, bc.nread > startRead, err
	}
	_ = bc.conn.SetReadDeadline(time.Time{})
	return &exchangeResult{resp: resp, bc: bc, wrote: wrote}, true, true, nil
}

// backendBody is a response body that hands its connection back to the
// pool once read to the end (or closes it otherwise).
type backendBody struct {
	rc       io.ReadCloser
	res      *exchangeResult
	client   *backendClient
	stop     func() bool // deregisters the cancellation hook
	reusable bool
	eof      bool
	done     bool
}

func (b *backendBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if err == io.EOF {
		b.eof = true
	}
	return n, err
}

// Close releases the connection: back to the pool when the body was read
// to its end, the request write finished and nothing cancelled the
// exchange; closed otherwise (never drained).
func (b *backendBody) Close() error {
	if b.done {
		return nil
	}
	b.done = true
	notCancelled := b.stop()
	bc := b.res.bc
	if b.eof && b.reusable && notCancelled {
		select {
		case werr := <-b.res.wrote:
			if werr == nil {
				_ = b.rc.Close() // at EOF: no drain
				b.client.put(bc)
				return nil
			}
		default:
		}
	}
	return bc.conn.Close()
}
