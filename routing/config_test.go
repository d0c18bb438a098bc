package routing

import (
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("DefaultConfig: %v", err)
	}
	tests := []struct {
		field  string
		modify func(*Config)
	}{
		{"ListenAddr", func(c *Config) { c.ListenAddr = "8080" }},
		{"Balancer", func(c *Config) { c.Balancer = "random" }},
		{"RouteBalancers", func(c *Config) { c.RouteBalancers = map[string]Balancer{"a.home": "fastest"} }},
		{"RouteBalancers", func(c *Config) { c.RouteBalancers = map[string]Balancer{"bad host": BalancerRoundRobin} }},
		{"MaxAttempts", func(c *Config) { c.MaxAttempts = 0 }},
		{"FailureCoolOff", func(c *Config) { c.FailureCoolOff = 0 }},
		{"RequestTimeout", func(c *Config) { c.RequestTimeout = -time.Second }},
		{"DialTimeout", func(c *Config) { c.DialTimeout = 0 }},
		{"IdleTimeout", func(c *Config) { c.IdleTimeout = 0 }},
		{"MaxIdleConnsPerBackend", func(c *Config) { c.MaxIdleConnsPerBackend = -1 }},
		{"StickyCookies", func(c *Config) { c.StickyCookies = []string{"a=b"} }},
		{"SubscribeBuffer", func(c *Config) { c.SubscribeBuffer = 0 }},
	}
	for _, tt := range tests {
		c := DefaultConfig()
		tt.modify(&c)
		err := c.Validate()
		if err == nil || !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), tt.field) {
			t.Errorf("%s: got %v, want an ErrInvalidConfig naming the field", tt.field, err)
		}
	}
	c := DefaultConfig()
	c.RouteBalancers = map[string]Balancer{"*.Apps.Home": BalancerLeastConnection}
	if err := c.Validate(); err != nil {
		t.Errorf("wildcard route balancer: %v", err)
	}
	if c.RouteBalancers["*.Apps.Home"] != BalancerLeastConnection {
		t.Errorf("Validate modified the config")
	}
}

func TestRunFailsWhenPortIsTaken(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cfg := testConfig()
	cfg.ListenAddr = ln.Addr().String()
	srv, err := NewServer(cfg, newFakeSource(), nil, nil, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Run(t.Context()); err == nil {
		t.Fatalf("Run on a taken port: got nil, want an error")
	}
}
