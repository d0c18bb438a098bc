package lifecycle

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Health check constants (spec §6.4).
const (
	// DefaultCheckTimeout is the per-attempt timeout of a probe.
	DefaultCheckTimeout = time.Second
	// HealthCheckUserAgent is the User-Agent of HTTP probes.
	HealthCheckUserAgent = "diego-healthcheck"
	// maxExecOutput bounds the output an exec probe keeps for its message.
	maxExecOutput = 4096
)

// Checker probes an instance once.
type Checker interface {
	// Check returns nil when the instance is healthy, or an error whose
	// text says why not (it becomes part of a crash reason).
	Check(ctx context.Context) error
}

// CheckerFunc adapts a function to a Checker.
type CheckerFunc func(ctx context.Context) error

// Check calls f.
func (f CheckerFunc) Check(ctx context.Context) error { return f(ctx) }

func timeoutOr(d time.Duration) time.Duration {
	if d <= 0 {
		return DefaultCheckTimeout
	}
	return d
}

// dialCause returns a short cause for a network error, as Diego's
// healthcheck binary words it.
func dialCause(err error, timeout time.Duration) string {
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset by peer"
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		return fmt.Sprintf("timed out after %s", timeout)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return fmt.Sprintf("timed out after %s", timeout)
	}
	return err.Error()
}

// TCPChecker passes when a TCP connection to Addr succeeds.
type TCPChecker struct {
	// Addr is the "host:port" to dial.
	Addr string
	// Port is the container port, for messages.
	Port uint16
	// Timeout is the per-attempt timeout; 0 means DefaultCheckTimeout.
	Timeout time.Duration
}

// Check dials Addr.
func (c *TCPChecker) Check(ctx context.Context) error {
	timeout := timeoutOr(c.Timeout)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", c.Addr)
	if err != nil {
		return userErrorf(err, "Failed to make TCP connection to port %d: %s", c.Port, dialCause(err, timeout))
	}
	_ = conn.Close()
	return nil
}

// noKeepAlive is the transport of HTTP probes: every probe is a fresh
// connection, so a closed listener is noticed at once.
var noKeepAlive = &http.Transport{DisableKeepAlives: true, Proxy: nil}

// HTTPChecker passes when GET http://Addr/Path answers exactly 200.
type HTTPChecker struct {
	Addr string
	// Port is the container port, for messages.
	Port uint16
	// Path defaults to "/".
	Path string
	// Timeout is the per-attempt timeout; 0 means DefaultCheckTimeout.
	Timeout time.Duration
	// Client defaults to a client without keep-alives.
	Client *http.Client
}

// Check sends one request.
func (c *HTTPChecker) Check(ctx context.Context) error {
	timeout := timeoutOr(c.Timeout)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	path := c.Path
	if path == "" {
		path = "/"
	}
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+c.Addr+path, nil)
	if err != nil {
		return userErrorf(err, "Failed to make HTTP request to '%s' on port %d: %v", path, c.Port, err)
	}
	req.Header.Set("User-Agent", HealthCheckUserAgent)
	req.Header.Set("X-Forwarded-Proto", "https")
	client := c.Client
	if client == nil {
		client = &http.Client{Transport: noKeepAlive}
	}
	resp, err := client.Do(req)
	if err != nil {
		return userErrorf(err, "Failed to make HTTP request to '%s' on port %d: %s", path, c.Port, dialCause(err, timeout))
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64*1024))
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return userErrorf(nil, "Failed to make HTTP request to '%s' on port %d: received status code %d", path, c.Port, resp.StatusCode)
	}
	return nil
}

// ExecChecker passes when its command, run in the container, exits 0.
type ExecChecker struct {
	Runner ProcessRunner
	// Spec is the command; its Stdout and Stderr are replaced by a buffer
	// whose content goes into the failure message.
	Spec ProcessSpec
	// Timeout is the per-attempt timeout; 0 means DefaultCheckTimeout.
	Timeout time.Duration
}

// Check runs the command once.
func (c *ExecChecker) Check(ctx context.Context) error {
	timeout := timeoutOr(c.Timeout)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	out := &limitedBuffer{max: maxExecOutput}
	spec := c.Spec
	spec.Stdout, spec.Stderr = out, out
	p, err := c.Runner.Run(ctx, spec)
	if err != nil {
		return userErrorf(err, "Failed to run health check command %s: %v", spec.Path, err)
	}
	st, err := p.Wait(ctx)
	if err != nil {
		_ = p.Signal(syscall.SIGKILL)
		return userErrorf(nil, "Health check command %s timed out after %s", spec.Path, timeout)
	}
	if st.Status() != 0 {
		msg := fmt.Sprintf("Health check command %s exited with status %d", spec.Path, st.Status())
		if o := strings.TrimSpace(out.String()); o != "" {
			msg += ": " + o
		}
		return &UserError{Message: msg}
	}
	return nil
}

// limitedBuffer keeps the first max bytes written to it.
type limitedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
	max int
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := b.max - b.buf.Len(); room > 0 {
		if len(p) > room {
			b.buf.Write(p[:room])
		} else {
			b.buf.Write(p)
		}
	}
	return len(p), nil
}

func (b *limitedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
