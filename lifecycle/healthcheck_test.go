package lifecycle_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/diegod/diegod/lifecycle"
	"github.com/diegod/diegod/lifecycle/lifecycletest"
)

func TestHTTPCheckNeedsExactly200(t *testing.T) {
	tests := []struct {
		status int
		pass   bool
	}{
		{http.StatusOK, true},
		{http.StatusNoContent, false},
		{http.StatusMovedPermanently, false},
		{http.StatusInternalServerError, false},
	}
	for _, tt := range tests {
		t.Run(strconv.Itoa(tt.status), func(t *testing.T) {
			var ua, path atomic.Value
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				ua.Store(r.UserAgent())
				path.Store(r.URL.Path)
				w.WriteHeader(tt.status)
			}))
			t.Cleanup(srv.Close)
			c := &lifecycle.HTTPChecker{Addr: srv.Listener.Addr().String(), Port: 8080, Path: "/health"}
			err := c.Check(context.Background())
			if (err == nil) != tt.pass {
				t.Fatalf("check: got %v, want pass=%v", err, tt.pass)
			}
			if !tt.pass {
				want := "Failed to make HTTP request to '/health' on port 8080: received status code " + strconv.Itoa(tt.status)
				if err.Error() != want {
					t.Fatalf("error: got %q, want %q", err, want)
				}
			}
			if got := ua.Load(); got != lifecycle.HealthCheckUserAgent {
				t.Fatalf("user agent: got %v, want %q", got, lifecycle.HealthCheckUserAgent)
			}
			if got := path.Load(); got != "/health" {
				t.Fatalf("path: got %v, want /health", got)
			}
		})
	}
}

// closedAddr returns a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func TestHTTPCheckRefused(t *testing.T) {
	c := &lifecycle.HTTPChecker{Addr: closedAddr(t), Port: 8080}
	err := c.Check(context.Background())
	if err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("check: got %v, want connection refused", err)
	}
}

func TestTCPCheck(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	if err := (&lifecycle.TCPChecker{Addr: l.Addr().String(), Port: 8080}).Check(context.Background()); err != nil {
		t.Fatalf("open port: got %v, want nil", err)
	}
	err = (&lifecycle.TCPChecker{Addr: closedAddr(t), Port: 8080}).Check(context.Background())
	if got, want := lifecycle.Reason(err), "Failed to make TCP connection to port 8080: connection refused"; got != want {
		t.Fatalf("refused: got %q, want %q", got, want)
	}
}

func TestExecCheck(t *testing.T) {
	tests := []struct {
		name   string
		status lifecycle.ExitStatus
		want   string
	}{
		{"exit 0", lifecycle.ExitStatus{}, ""},
		{"exit 1", lifecycle.ExitStatus{Code: 1}, "Health check command /bin/check exited with status 1: not ready"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runner := lifecycletest.NewFakeRunner(func(p *lifecycletest.FakeProcess) {
				if tt.status.Code != 0 {
					p.Spec.Stdout.Write([]byte("not ready\n"))
				}
				p.Exit(tt.status)
			})
			c := &lifecycle.ExecChecker{Runner: runner, Spec: lifecycle.ProcessSpec{Path: "/bin/check"}}
			if got := lifecycle.Reason(c.Check(context.Background())); got != tt.want {
				t.Fatalf("check: got %q, want %q", got, tt.want)
			}
		})
	}
}
