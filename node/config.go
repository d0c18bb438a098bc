package node

import (
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/diegod/diegod/auction"
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

// Cluster defaults. docs/operations.md explains each choice.
const (
	// DefaultMaxVoters is how many Raft voters the leader keeps; further
	// members join as non-voters. Five voters survive two failures; more
	// only slow every commit down.
	DefaultMaxVoters = 5
	// DefaultCellLostGrace is how long a member must stay dead in gossip
	// before the leader marks its cell LOST (its instances become SUSPECT
	// and are replaced). Gossip already needs 0.6-1.2 s of failed probes
	// and an unrefuted suspicion to declare a member dead; one more second
	// rides out a brief hiccup, and keeps a replacement RUNNING within
	// 5 s of a kill despite Diego's 2 s startup probe interval.
	DefaultCellLostGrace = time.Second
	// DefaultDeadServerTimeout is how long a Raft server must stay dead or
	// left in gossip before the leader removes it from the configuration
	// (only if the remaining voters keep a quorum). A removed member that
	// comes back is added again automatically.
	DefaultDeadServerTimeout = 30 * time.Minute
	// DefaultDrainTimeout bounds an evacuation (Diego's evacuation
	// timeout is 10 minutes too).
	DefaultDrainTimeout = 10 * time.Minute
	// DefaultJoinTimeout bounds the join handshake with the first node,
	// retries included (the first node may still be starting).
	DefaultJoinTimeout = time.Minute
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
	// UserContextDir, when set, also receives context.json (the agent
	// command sets ~/.diegod, so the CLI finds the last agent the user
	// started); tests leave it empty.
	UserContextDir string
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
	// Tasks holds the task timings of convergence: kick (30 s), pending
	// expiry (30 min), completed expiry (2 min).
	Tasks auction.TaskConfig
	// StopGrace is the SIGTERM-to-SIGKILL window for stopping instances.
	StopGrace time.Duration
	// InMemoryRaft keeps the Raft log in memory (tests only).
	InMemoryRaft bool
	// MaxRequestBytes bounds API request bodies.
	MaxRequestBytes int64

	// Join is the API address ("host:port") of a member to join on first
	// start; empty bootstraps a new cluster (or restarts a member).
	Join string
	// JoinToken is the token `diegod token` prints; required with Join
	// unless the data dir already holds the node's certificates.
	JoinToken string
	// JoinTimeout bounds the join handshake, retries included.
	JoinTimeout time.Duration
	// MaxVoters caps the Raft voters; further members are non-voters.
	MaxVoters int
	// CellLostGrace is how long a member stays dead in gossip before the
	// leader marks its cell LOST.
	CellLostGrace time.Duration
	// DeadServerTimeout is how long a Raft server stays dead in gossip
	// before the leader removes it (0 = only `diegod members remove`).
	DeadServerTimeout time.Duration
	// DrainTimeout bounds the evacuation of a graceful leave.
	DrainTimeout time.Duration
	// Gossip tunes failure detection (see DefaultGossipConfig).
	Gossip GossipConfig
	// Network carries every node-to-node connection; nil is the real
	// network. Tests inject faults through it.
	Network Network
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
		Tasks:            auction.DefaultTaskConfig(),
		StopGrace:        10 * time.Second,
		MaxRequestBytes:  DefaultMaxRequest,

		JoinTimeout:       DefaultJoinTimeout,
		MaxVoters:         DefaultMaxVoters,
		CellLostGrace:     DefaultCellLostGrace,
		DeadServerTimeout: DefaultDeadServerTimeout,
		DrainTimeout:      DefaultDrainTimeout,
		Gossip:            DefaultGossipConfig(),
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
	if err := c.Tasks.Validate(); err != nil {
		return fmt.Errorf("tasks: %w", err)
	}
	if c.ConvergeInterval <= 0 {
		return errors.New("converge interval: must be > 0")
	}
	if c.StopGrace < 0 {
		return errors.New("stop grace: must be >= 0")
	}
	return c.validateCluster()
}

func (c *Config) validateCluster() error {
	switch {
	case c.Join != "" && c.Dev:
		return errors.New("join: --dev runs a one-node cluster and cannot join")
	case c.Join != "" && c.JoinToken != "":
		if _, err := ParseToken(c.JoinToken); err != nil {
			return fmt.Errorf("join token: %w", err)
		}
	}
	if c.JoinTimeout <= 0 {
		return errors.New("join timeout: must be > 0")
	}
	if c.MaxVoters < 1 {
		return errors.New("max voters: must be >= 1")
	}
	if c.CellLostGrace < 0 {
		return errors.New("cell lost grace: must be >= 0")
	}
	if c.DeadServerTimeout < 0 {
		return errors.New("dead server timeout: must be >= 0")
	}
	if c.DrainTimeout <= 0 {
		return errors.New("drain timeout: must be > 0")
	}
	if err := c.Gossip.Validate(); err != nil {
		return fmt.Errorf("gossip: %w", err)
	}
	return nil
}

func (c *Config) addr(port int) string {
	return net.JoinHostPort(c.Bind, fmt.Sprint(port))
}
