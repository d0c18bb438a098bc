package raftstore

import (
	"fmt"
	"time"

	"github.com/hashicorp/raft"
)

// Defaults for Config. The Raft timings are tuned for a LAN (sub-millisecond
// round trips) rather than raft's WAN-friendly defaults, so a dead leader is
// replaced in about a second instead of several.
const (
	// DefaultBindAddr is the Raft port of the user contract (8890).
	DefaultBindAddr = "127.0.0.1:8890"

	// DefaultHeartbeatTimeout is how long a follower waits without hearing
	// from the leader before it starts an election (the leader heartbeats
	// every tenth of it, 50 ms). 500 ms is half raft's default: a LAN round
	// trip is far below 1 ms, and 500 ms still rides out a GC pause or a slow
	// fsync on a busy homelab disk.
	DefaultHeartbeatTimeout = 500 * time.Millisecond
	// DefaultElectionTimeout is how long a candidate waits for votes. Raft
	// randomises it between 1x and 2x, which is what avoids split votes; on a
	// LAN votes come back in well under 500 ms.
	DefaultElectionTimeout = 500 * time.Millisecond
	// DefaultLeaderLeaseTimeout is how long a leader keeps leading without
	// reaching a quorum. 250 ms (5 heartbeat intervals) makes a partitioned
	// leader step down, and stop its auction and convergence, quickly, so two
	// nodes rarely both act as leader (spec §10, diego-release#428).
	DefaultLeaderLeaseTimeout = 250 * time.Millisecond
	// DefaultCommitTimeout is how long the leader waits without new entries
	// before it sends an extra heartbeat carrying the commit index. Every
	// node serves reads, routing and its cell from its local state, so
	// followers must learn commits promptly: 5 ms instead of raft's 50 ms.
	DefaultCommitTimeout = 5 * time.Millisecond

	// DefaultSnapshotThreshold is how many log entries since the last
	// snapshot trigger a new one (raft's default). An entry holds up to
	// MaxBatch commands.
	DefaultSnapshotThreshold = 8192
	// DefaultSnapshotInterval is how often raft checks the threshold.
	DefaultSnapshotInterval = 120 * time.Second
	// DefaultTrailingLogs is how many entries stay in the log after a
	// snapshot, so a briefly lagging follower catches up without one.
	DefaultTrailingLogs = 10240
	// DefaultSnapshotRetain is how many file snapshots are kept on disk.
	DefaultSnapshotRetain = 2

	// DefaultMaxBatch is the most commands group commit puts in one log
	// entry.
	DefaultMaxBatch = 1024
	// DefaultMaxBatchBytes bounds the encoded size of one log entry; a batch
	// is closed early when the next command would exceed it (one oversized
	// command still goes alone).
	DefaultMaxBatchBytes = 4 << 20
	// DefaultApplyTimeout bounds how long the batcher waits to hand an entry
	// to raft when raft is congested.
	DefaultApplyTimeout = 30 * time.Second

	// DefaultRaftLogLevel keeps raft's own chatter at warnings and above.
	DefaultRaftLogLevel = "warn"
)

// File names under Config.DataDir.
const (
	// RaftDBFile holds the Raft log and stable store (bbolt).
	RaftDBFile = "raft.db"
	// SnapshotDir holds the file snapshots (raft creates it under DataDir).
	SnapshotDir = "snapshots"
)

// Config configures a Store.
type Config struct {
	// NodeID is this server's Raft ID (the node name). Required.
	NodeID string
	// DataDir holds raft.db and snapshots/. Required unless InMemory.
	DataDir string
	// BindAddr is the TCP address the Raft transport listens on. Required
	// unless Transport is set.
	BindAddr string
	// AdvertiseAddr is the address other servers dial; empty means the
	// listener's address (BindAddr, which must then not be 0.0.0.0).
	AdvertiseAddr string
	// Transport, when set, is used instead of a TCP transport (a TLS stream
	// layer in production, raft.InmemTransport in tests). The caller owns it
	// and closes it after Store.Close.
	Transport raft.Transport
	// Bootstrap makes the node bootstrap a single-voter configuration of
	// itself when the log holds no state yet; it is harmless on restart.
	Bootstrap bool
	// InMemory keeps the log, stable store and snapshots in memory (tests).
	InMemory bool

	// HeartbeatTimeout, ElectionTimeout, LeaderLeaseTimeout and
	// CommitTimeout are raft's timings; see the Default* constants for the
	// reasons behind the defaults.
	HeartbeatTimeout   time.Duration
	ElectionTimeout    time.Duration
	LeaderLeaseTimeout time.Duration
	CommitTimeout      time.Duration

	// SnapshotThreshold is the number of entries between snapshots.
	SnapshotThreshold uint64
	// SnapshotInterval is how often raft checks SnapshotThreshold.
	SnapshotInterval time.Duration
	// TrailingLogs is how many entries are kept after a snapshot.
	TrailingLogs uint64
	// SnapshotRetain is how many file snapshots are kept.
	SnapshotRetain int

	// MaxBatch is the most commands one log entry carries (group commit).
	MaxBatch int
	// MaxBatchBytes bounds the encoded size of one log entry.
	MaxBatchBytes int
	// ApplyTimeout bounds the wait to enqueue an entry into raft.
	ApplyTimeout time.Duration

	// RaftLogLevel is the lowest level of raft's own log lines that reach
	// the zerolog logger: trace, debug, info, warn or error.
	RaftLogLevel string
	// Metrics records store metrics; nil records nothing.
	Metrics Recorder
}

// DefaultConfig returns a Config with every default set; NodeID and DataDir
// (or InMemory) are left for the caller.
func DefaultConfig() Config {
	return Config{
		BindAddr:           DefaultBindAddr,
		HeartbeatTimeout:   DefaultHeartbeatTimeout,
		ElectionTimeout:    DefaultElectionTimeout,
		LeaderLeaseTimeout: DefaultLeaderLeaseTimeout,
		CommitTimeout:      DefaultCommitTimeout,
		SnapshotThreshold:  DefaultSnapshotThreshold,
		SnapshotInterval:   DefaultSnapshotInterval,
		TrailingLogs:       DefaultTrailingLogs,
		SnapshotRetain:     DefaultSnapshotRetain,
		MaxBatch:           DefaultMaxBatch,
		MaxBatchBytes:      DefaultMaxBatchBytes,
		ApplyTimeout:       DefaultApplyTimeout,
		RaftLogLevel:       DefaultRaftLogLevel,
	}
}

// Validate checks the config without changing it and names the first bad
// field.
func (c *Config) Validate() error {
	switch {
	case c.NodeID == "":
		return fmt.Errorf("raftstore config: NodeID: required")
	case !c.InMemory && c.DataDir == "":
		return fmt.Errorf("raftstore config: DataDir: required unless InMemory")
	case c.Transport == nil && c.BindAddr == "":
		return fmt.Errorf("raftstore config: BindAddr: required unless Transport is set")
	case c.HeartbeatTimeout < 5*time.Millisecond:
		return fmt.Errorf("raftstore config: HeartbeatTimeout: %v is below 5ms", c.HeartbeatTimeout)
	case c.ElectionTimeout < 5*time.Millisecond:
		return fmt.Errorf("raftstore config: ElectionTimeout: %v is below 5ms", c.ElectionTimeout)
	case c.LeaderLeaseTimeout < 5*time.Millisecond:
		return fmt.Errorf("raftstore config: LeaderLeaseTimeout: %v is below 5ms", c.LeaderLeaseTimeout)
	case c.LeaderLeaseTimeout > c.HeartbeatTimeout:
		return fmt.Errorf("raftstore config: LeaderLeaseTimeout: %v is above HeartbeatTimeout %v",
			c.LeaderLeaseTimeout, c.HeartbeatTimeout)
	case c.CommitTimeout <= 0:
		return fmt.Errorf("raftstore config: CommitTimeout: must be positive")
	case c.SnapshotThreshold == 0:
		return fmt.Errorf("raftstore config: SnapshotThreshold: must be positive")
	case c.SnapshotInterval < 5*time.Millisecond:
		return fmt.Errorf("raftstore config: SnapshotInterval: %v is below 5ms", c.SnapshotInterval)
	case c.SnapshotRetain < 1:
		return fmt.Errorf("raftstore config: SnapshotRetain: must be at least 1")
	case c.MaxBatch < 1:
		return fmt.Errorf("raftstore config: MaxBatch: must be at least 1")
	case c.MaxBatchBytes < 1:
		return fmt.Errorf("raftstore config: MaxBatchBytes: must be positive")
	case c.ApplyTimeout <= 0:
		return fmt.Errorf("raftstore config: ApplyTimeout: must be positive")
	}
	if _, err := parseLevel(c.RaftLogLevel); err != nil {
		return fmt.Errorf("raftstore config: RaftLogLevel: %w", err)
	}
	return nil
}
