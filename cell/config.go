package cell

import (
	"fmt"
	"time"

	"github.com/diegod/diegod/lifecycle"
	"github.com/diegod/diegod/model"
)

// Defaults of Config (Diego's values, spec §6 and §9).
const (
	// DefaultStopGrace is the SIGTERM→SIGKILL interval when an instance is
	// stopped (graceful_shutdown_interval).
	DefaultStopGrace = lifecycle.DefaultGrace
	// DefaultStartupInterval is the health probe interval until an instance
	// first passes (unhealthy_monitoring_interval).
	DefaultStartupInterval = lifecycle.DefaultStartupInterval
	// DefaultMetricsInterval is the container metrics interval.
	DefaultMetricsInterval = 15 * time.Second
	// DefaultLogLinesPerInstance is the log lines kept per instance.
	DefaultLogLinesPerInstance = 1000
	// DefaultLogBytesTotal bounds the memory of all kept log lines.
	DefaultLogBytesTotal = 64 << 20
	// DefaultLogFollowBuffer is the lines a slow follower may lag before it
	// loses lines.
	DefaultLogFollowBuffer = 1024
	// DefaultMaxDownloads is how many download actions run at once.
	DefaultMaxDownloads = lifecycle.DefaultMaxDownloads
	// DefaultReportRetryMax caps the backoff between retries of a report.
	DefaultReportRetryMax = 5 * time.Second
)

// DefaultRootFSProviders is the rootfs kinds a cell offers by default.
var DefaultRootFSProviders = []string{model.DefaultRootFS}

// Config is a cell's configuration.
type Config struct {
	// CellID names the cell (the node name); ^[a-zA-Z0-9_-]+$.
	CellID string
	// Address is the node's address, as shown in the cell record.
	Address string
	// Zone is the availability zone the auction spreads over.
	Zone string
	// Capacity is what the cell offers. Memory and disk come from the node
	// (the machine's total unless overridden); containers default to 250.
	Capacity model.Resources
	// PlacementTags must all be asked for by an LRP placed here;
	// OptionalPlacementTags may be (spec §5.4).
	PlacementTags         []string
	OptionalPlacementTags []string
	// RootFSProviders lists the rootfs kinds the cell runs ("host",
	// "docker", "droplet", "preloaded:NAME").
	RootFSProviders []string
	// StopGrace is the SIGTERM→SIGKILL interval.
	StopGrace time.Duration
	// StartupInterval is the health probe interval during startup.
	StartupInterval time.Duration
	// LivenessInterval, when set, overrides every LRP's health check
	// interval (tests and simulations); 0 uses the LRP's (default 30 s).
	LivenessInterval time.Duration
	// MetricsInterval is how often container metrics are collected.
	MetricsInterval time.Duration
	// LogLinesPerInstance is the log lines kept per instance.
	LogLinesPerInstance int
	// LogBytesTotal bounds the bytes of all kept log lines.
	LogBytesTotal int
	// LogFollowBuffer is the buffer of each log follower.
	LogFollowBuffer int
	// MaxDownloads bounds concurrent download actions.
	MaxDownloads int
	// ReportRetryMax caps the backoff between retries of a failed report.
	ReportRetryMax time.Duration
}

// DefaultConfig returns a Config with Diego's defaults and no cell id.
func DefaultConfig() Config {
	return Config{
		Capacity:            model.Resources{Containers: model.DefaultMaxContainers},
		RootFSProviders:     append([]string(nil), DefaultRootFSProviders...),
		StopGrace:           DefaultStopGrace,
		StartupInterval:     DefaultStartupInterval,
		MetricsInterval:     DefaultMetricsInterval,
		LogLinesPerInstance: DefaultLogLinesPerInstance,
		LogBytesTotal:       DefaultLogBytesTotal,
		LogFollowBuffer:     DefaultLogFollowBuffer,
		MaxDownloads:        DefaultMaxDownloads,
		ReportRetryMax:      DefaultReportRetryMax,
	}
}

// Validate checks the config without changing it and names the first bad
// field.
func (c Config) Validate() error {
	switch {
	case !model.ValidGUID(c.CellID):
		return fmt.Errorf("%w: CellID %q must match ^[a-zA-Z0-9_-]+$", ErrInvalidConfig, c.CellID)
	case c.Capacity.MemoryMB < 0 || c.Capacity.DiskMB < 0 || c.Capacity.Containers < 0:
		return fmt.Errorf("%w: Capacity must not be negative", ErrInvalidConfig)
	case len(c.RootFSProviders) == 0:
		return fmt.Errorf("%w: RootFSProviders must not be empty", ErrInvalidConfig)
	case c.StopGrace <= 0:
		return fmt.Errorf("%w: StopGrace must be > 0", ErrInvalidConfig)
	case c.StartupInterval <= 0:
		return fmt.Errorf("%w: StartupInterval must be > 0", ErrInvalidConfig)
	case c.LivenessInterval < 0:
		return fmt.Errorf("%w: LivenessInterval must be >= 0", ErrInvalidConfig)
	case c.MetricsInterval <= 0:
		return fmt.Errorf("%w: MetricsInterval must be > 0", ErrInvalidConfig)
	case c.LogLinesPerInstance <= 0:
		return fmt.Errorf("%w: LogLinesPerInstance must be > 0", ErrInvalidConfig)
	case c.LogBytesTotal < model.MaxLogLineSize:
		return fmt.Errorf("%w: LogBytesTotal must be >= %d", ErrInvalidConfig, model.MaxLogLineSize)
	case c.LogFollowBuffer <= 0:
		return fmt.Errorf("%w: LogFollowBuffer must be > 0", ErrInvalidConfig)
	case c.MaxDownloads <= 0:
		return fmt.Errorf("%w: MaxDownloads must be > 0", ErrInvalidConfig)
	case c.ReportRetryMax <= 0:
		return fmt.Errorf("%w: ReportRetryMax must be > 0", ErrInvalidConfig)
	}
	for _, t := range append(append([]string(nil), c.PlacementTags...), c.OptionalPlacementTags...) {
		if t == "" {
			return fmt.Errorf("%w: PlacementTags: empty tag", ErrInvalidConfig)
		}
	}
	return nil
}
