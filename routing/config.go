package routing

import (
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/diegod/diegod/model"
)

// Balancer names a load-balancing algorithm (gorouter's names, spec §7).
type Balancer string

// The balancers.
const (
	// BalancerRoundRobin starts at a random endpoint and steps on, skipping
	// endpoints in cool-off.
	BalancerRoundRobin Balancer = "round-robin"
	// BalancerLeastConnection picks the endpoint with the fewest requests in
	// flight through this router, ties broken at random.
	BalancerLeastConnection Balancer = "least-connection"
)

func (b Balancer) valid() bool { return b == BalancerRoundRobin || b == BalancerLeastConnection }

// Defaults (gorouter's values where it has one, spec §7 and §9).
const (
	DefaultListenAddr             = ":8080"
	DefaultBalancer               = BalancerRoundRobin
	DefaultMaxAttempts            = 3
	DefaultFailureCoolOff         = 30 * time.Second
	DefaultRequestTimeout         = 60 * time.Second
	DefaultDialTimeout            = 5 * time.Second
	DefaultIdleTimeout            = 90 * time.Second
	DefaultReadHeaderTimeout      = 30 * time.Second
	DefaultShutdownTimeout        = 10 * time.Second
	DefaultMaxIdleConnsPerBackend = 128
	DefaultMaxIdleConns           = 2048
	DefaultSubscribeBuffer        = 1024
	DefaultStickyCookie           = "JSESSIONID"
)

// Config configures the router. The zero value is not valid; start from
// DefaultConfig.
type Config struct {
	// ListenAddr is the address the router listens on (host:port; the node
	// sets it from --bind and --router-port).
	ListenAddr string
	// LocalAddress is this node's host address as its cell reports it in
	// ActualLRP net info. Instances on this node with a container address of
	// their own are dialled directly at that address and the container port.
	// Empty: always use the host address and mapped port.
	LocalAddress string
	// Balancer is the default algorithm for every route.
	Balancer Balancer
	// RouteBalancers overrides Balancer per route (the hostname as listed in
	// routes, e.g. "api.home" or "*.apps.home"; case-insensitive). The LRP
	// spec has no per-route options yet, so the operator sets them here.
	RouteBalancers map[string]Balancer
	// MaxAttempts is how many distinct endpoints one request may try (never
	// more than the pool has). Only failures before the app could have seen
	// the request are retried.
	MaxAttempts int
	// FailureCoolOff is how long an endpoint that failed a retriable attempt
	// is skipped (gorouter: stale threshold / 4 = 30 s).
	FailureCoolOff time.Duration
	// RequestTimeout bounds the wait for a backend's response headers
	// (gorouter's endpoint timeout). Streaming bodies, SSE and upgraded
	// connections are not cut by it.
	RequestTimeout time.Duration
	// DialTimeout bounds one TCP connect to a backend.
	DialTimeout time.Duration
	// IdleTimeout closes idle keep-alive connections, to clients and to
	// backends.
	IdleTimeout time.Duration
	// ReadHeaderTimeout bounds reading a client's request headers.
	ReadHeaderTimeout time.Duration
	// ShutdownTimeout is how long Run lets in-flight requests finish once
	// its context ends; upgraded connections are closed after it.
	ShutdownTimeout time.Duration
	// MaxIdleConnsPerBackend bounds the idle keep-alive pool per backend.
	MaxIdleConnsPerBackend int
	// MaxIdleConns bounds the idle keep-alive pool over all backends.
	MaxIdleConns int
	// H2C also serves cleartext HTTP/2 (prior knowledge) to clients.
	// Backends are always spoken to in HTTP/1.1.
	H2C bool
	// StickyCookies are the app session cookies that make the router add
	// __VCAP_ID__ (gorouter: JSESSIONID).
	StickyCookies []string
	// SubscribeBuffer is the event subscription buffer, in log entries.
	SubscribeBuffer int
	// DisableAccessLog stops the [RTR] lines to LogSink.
	DisableAccessLog bool
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{
		ListenAddr:             DefaultListenAddr,
		Balancer:               DefaultBalancer,
		MaxAttempts:            DefaultMaxAttempts,
		FailureCoolOff:         DefaultFailureCoolOff,
		RequestTimeout:         DefaultRequestTimeout,
		DialTimeout:            DefaultDialTimeout,
		IdleTimeout:            DefaultIdleTimeout,
		ReadHeaderTimeout:      DefaultReadHeaderTimeout,
		ShutdownTimeout:        DefaultShutdownTimeout,
		MaxIdleConnsPerBackend: DefaultMaxIdleConnsPerBackend,
		MaxIdleConns:           DefaultMaxIdleConns,
		StickyCookies:          []string{DefaultStickyCookie},
		SubscribeBuffer:        DefaultSubscribeBuffer,
	}
}

// Validate reports the first invalid field. It does not modify c.
func (c Config) Validate() error {
	if _, _, err := net.SplitHostPort(c.ListenAddr); err != nil {
		return configErr("ListenAddr", "%q is not host:port", c.ListenAddr)
	}
	if !c.Balancer.valid() {
		return configErr("Balancer", "%q is not %s or %s", c.Balancer, BalancerRoundRobin, BalancerLeastConnection)
	}
	for host, b := range c.RouteBalancers {
		if !model.ValidHostname(host) {
			return configErr("RouteBalancers", "%q is not a route hostname", host)
		}
		if !b.valid() {
			return configErr("RouteBalancers", "%s: %q is not %s or %s", host, b, BalancerRoundRobin, BalancerLeastConnection)
		}
	}
	if c.MaxAttempts < 1 || c.MaxAttempts > 10 {
		return configErr("MaxAttempts", "%d is not in 1..10", c.MaxAttempts)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"FailureCoolOff", c.FailureCoolOff}, {"RequestTimeout", c.RequestTimeout},
		{"DialTimeout", c.DialTimeout}, {"IdleTimeout", c.IdleTimeout},
		{"ReadHeaderTimeout", c.ReadHeaderTimeout}, {"ShutdownTimeout", c.ShutdownTimeout},
	} {
		if d.v <= 0 {
			return configErr(d.name, "%s must be positive", d.v)
		}
	}
	if c.MaxIdleConnsPerBackend < 0 {
		return configErr("MaxIdleConnsPerBackend", "%d is negative", c.MaxIdleConnsPerBackend)
	}
	if c.MaxIdleConns < 0 {
		return configErr("MaxIdleConns", "%d is negative", c.MaxIdleConns)
	}
	for _, name := range c.StickyCookies {
		if name == "" || strings.ContainsAny(name, "=; \t") {
			return configErr("StickyCookies", "%q is not a cookie name", name)
		}
	}
	if c.SubscribeBuffer < 1 {
		return configErr("SubscribeBuffer", "%d must be at least 1", c.SubscribeBuffer)
	}
	return nil
}

func configErr(field, format string, args ...any) error {
	return fmt.Errorf("routing config: %s: %s: %w", field, fmt.Sprintf(format, args...), ErrInvalidConfig)
}
