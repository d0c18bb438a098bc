package node

import (
	"errors"
	"fmt"
	"net"
	"time"
)

// Default ports (the user contract in DESIGN.md).
const (
	DefaultAPIPort    = 8889
	DefaultRaftPort   = 8890
	DefaultGossipPort = 8891
	DefaultRouterPort = 8080
)

// Runtime names.
const (
	RuntimeRunc = "runc"
	RuntimeFake = "fake"
)

// Defaults for a node.
const (
	DefaultBind          = "127.0.0.1"
	DefaultMaxRequest    = 1 << 20 // largest accepted API request body
	DefaultShutdownGrace = 15 * time.Second
)

// Config configures one node. Zero values take the defaults of
// DefaultConfig; Validate names the first bad field.
type Config struct {
	// NodeName is the node's name and its cell id (default: the hostname).
	NodeName string
	// DataDir holds the Raft log, snapshots, the context file and container
	// state.
	DataDir string
	// Dev runs a one-node cluster with everything on 127.0.0.1.
	Dev bool
	// Bind is the address every listener binds to.
	Bind string
	// ContainerBridge, ContainerSubnet and HostPortStart/End configure the
	// runc runtime's network (defaults: diegod0, 10.254.0.0/22,
	// 61000-61999). Agents sharing one machine need distinct values.
	ContainerBridge, ContainerSubnet string
	HostPortStart, HostPortEnd       int
	// APIPort, RaftPort, GossipPort and RouterPort are the listeners' ports;
	// 0 picks a free port (tests).
	APIPort, RaftPort, GossipPort, RouterPort int
	// Runtime is "runc" (real containers) or "fake" (simulation, tests).
	Runtime string
	// Zone, PlacementTags, OptionalPlacementTags describe the cell for the
	// auction.
	Zone                  string
	PlacementTags         []string
	OptionalPlacementTags []string
	// MemoryMB, DiskMB and MaxContainers override what the machine reports
	// (0 = measure; containers default to Diego's 250).
	MemoryMB, DiskMB, MaxContainers int
	// ConvergeInterval is the period of the full convergence pass (Diego's
	// 30 s by default).
	ConvergeInterval time.Duration
	// StopGrace is the SIGTERM-to-SIGKILL window for stopping instances.
	StopGrace time.Duration
	// InMemoryRaft keeps the Raft log in memory (tests only).
	InMemoryRaft bool
	// MaxRequestBytes bounds API request bodies.
	MaxRequestBytes int64
}

// DefaultConfig returns a Config with every default set.
func DefaultConfig() Config {
	return Config{
		Bind:             DefaultBind,
		APIPort:          DefaultAPIPort,
		RaftPort:         DefaultRaftPort,
		GossipPort:       DefaultGossipPort,
		RouterPort:       DefaultRouterPort,
		Runtime:          RuntimeRunc,
		Zone:             "default",
		ConvergeInterval: 30 * time.Second,
		StopGrace:        10 * time.Second,
		MaxRequestBytes:  DefaultMaxRequest,
	}
}

// Validate checks the config without changing it.
func (c *Config) Validate() error {
	if c.NodeName == "" {
		return errors.New("node name: required")
	}
	if c.DataDir == "" {
		return errors.New("data dir: required")
	}
	if net.ParseIP(c.Bind) == nil {
		return fmt.Errorf("bind: %q is not an IP address", c.Bind)
	}
	for name, p := range map[string]int{"api port": c.APIPort, "raft port": c.RaftPort,
		"gossip port": c.GossipPort, "router port": c.RouterPort} {
		if p < 0 || p > 65535 {
			return fmt.Errorf("%s: %d is not a port", name, p)
		}
	}
	switch c.Runtime {
	case RuntimeRunc, RuntimeFake:
	default:
		return fmt.Errorf("runtime: %q is not runc or fake", c.Runtime)
	}
	if c.MemoryMB < 0 || c.DiskMB < 0 || c.MaxContainers < 0 {
		return errors.New("capacity: memory, disk and containers must be >= 0")
	}
	if c.ConvergeInterval <= 0 {
		return errors.New("converge interval: must be > 0")
	}
	if c.StopGrace < 0 {
		return errors.New("stop grace: must be >= 0")
	}
	return nil
}

func (c *Config) addr(port int) string {
	return net.JoinHostPort(c.Bind, fmt.Sprint(port))
}
