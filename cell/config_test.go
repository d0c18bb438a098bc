package cell

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestConfigValidate(t *testing.T) {
	valid := DefaultConfig()
	valid.CellID = "node-1"
	if err := valid.Validate(); err != nil {
		t.Fatalf("default config with a cell id: %v", err)
	}
	tests := []struct {
		field  string
		mutate func(*Config)
	}{
		{"CellID", func(c *Config) { c.CellID = "bad id" }},
		{"Capacity", func(c *Config) { c.Capacity.MemoryMB = -1 }},
		{"RootFSProviders", func(c *Config) { c.RootFSProviders = nil }},
		{"StopGrace", func(c *Config) { c.StopGrace = 0 }},
		{"StartupInterval", func(c *Config) { c.StartupInterval = -time.Second }},
		{"MetricsInterval", func(c *Config) { c.MetricsInterval = 0 }},
		{"LogLinesPerInstance", func(c *Config) { c.LogLinesPerInstance = 0 }},
		{"LogBytesTotal", func(c *Config) { c.LogBytesTotal = 10 }},
		{"MaxDownloads", func(c *Config) { c.MaxDownloads = 0 }},
		{"PlacementTags", func(c *Config) { c.PlacementTags = []string{""} }},
	}
	for _, tt := range tests {
		t.Run(tt.field, func(t *testing.T) {
			c := valid
			c.RootFSProviders = append([]string(nil), valid.RootFSProviders...)
			tt.mutate(&c)
			err := c.Validate()
			if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), tt.field) {
				t.Fatalf("got %v, want an ErrInvalidConfig naming %s", err, tt.field)
			}
		})
	}
	if valid.RootFSProviders[0] != "host" || valid.StopGrace != 10*time.Second || valid.MetricsInterval != 15*time.Second {
		t.Fatalf("defaults changed: %+v", valid)
	}
}
