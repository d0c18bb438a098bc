package raftstore

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
)

// Transport settings for the TCP transport Open creates itself.
const (
	tcpMaxPool = 3
	tcpTimeout = 10 * time.Second
	// logCacheSize is how many recent entries are cached in front of bbolt,
	// so followers being replicated to do not read the disk.
	logCacheSize = 512
	// notifyBuffer is the size of the channel raft reports leadership on.
	notifyBuffer = 8
)

// raftNode is raft and everything it was built from, so Close can release
// each part in order.
type raftNode struct {
	raft      *raft.Raft
	transport raft.Transport
	closers   []io.Closer // owned transport and bbolt store, closed after raft
}

// raftConfig maps the Config onto raft's.
func raftConfig(cfg Config, logger hclog.Logger, notify chan bool) *raft.Config {
	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(cfg.NodeID)
	rc.HeartbeatTimeout = cfg.HeartbeatTimeout
	rc.ElectionTimeout = cfg.ElectionTimeout
	rc.LeaderLeaseTimeout = cfg.LeaderLeaseTimeout
	rc.CommitTimeout = cfg.CommitTimeout
	rc.SnapshotThreshold = cfg.SnapshotThreshold
	rc.SnapshotInterval = cfg.SnapshotInterval
	rc.TrailingLogs = cfg.TrailingLogs
	rc.Logger = logger
	rc.NotifyCh = notify
	// The state lives in memory only: it must be rebuilt from the latest
	// snapshot plus the log on every start.
	rc.NoSnapshotRestoreOnStart = false
	return rc
}

// openRaft builds the stores and transport, bootstraps if asked and the log
// is empty, and starts raft over fsm.
func openRaft(cfg Config, fsm raft.FSM, logger hclog.Logger, notify chan bool) (_ *raftNode, err error) {
	rc := raftConfig(cfg, logger, notify)
	if err := raft.ValidateConfig(rc); err != nil {
		return nil, fmt.Errorf("raft config: %w", err)
	}
	n := &raftNode{}
	defer func() {
		if err != nil {
			n.closeParts()
		}
	}()

	var (
		logs   raft.LogStore
		stable raft.StableStore
		snaps  raft.SnapshotStore
	)
	if cfg.InMemory {
		mem := raft.NewInmemStore()
		logs, stable, snaps = mem, mem, raft.NewInmemSnapshotStore()
	} else {
		if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
			return nil, fmt.Errorf("create data dir %s: %w", cfg.DataDir, err)
		}
		bolt, err := raftboltdb.New(raftboltdb.Options{Path: filepath.Join(cfg.DataDir, RaftDBFile)})
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", filepath.Join(cfg.DataDir, RaftDBFile), err)
		}
		n.closers = append(n.closers, bolt)
		cached, err := raft.NewLogCache(logCacheSize, bolt)
		if err != nil {
			return nil, fmt.Errorf("create log cache: %w", err)
		}
		logs, stable = cached, bolt
		// raft adds the "snapshots" directory under DataDir itself.
		fss, err := raft.NewFileSnapshotStoreWithLogger(cfg.DataDir, cfg.SnapshotRetain, logger)
		if err != nil {
			return nil, fmt.Errorf("open snapshot store: %w", err)
		}
		snaps = fss
	}

	if cfg.Transport != nil {
		n.transport = cfg.Transport
	} else {
		// Without an AdvertiseAddr the listener's own address is advertised
		// (so a BindAddr with port 0 works); it must not be unspecified.
		var adv net.Addr
		if cfg.AdvertiseAddr != "" {
			a, err := net.ResolveTCPAddr("tcp", cfg.AdvertiseAddr)
			if err != nil {
				return nil, fmt.Errorf("resolve advertise address %s: %w", cfg.AdvertiseAddr, err)
			}
			adv = a
		}
		tt, err := raft.NewTCPTransportWithLogger(cfg.BindAddr, adv, tcpMaxPool, tcpTimeout, logger)
		if err != nil {
			return nil, fmt.Errorf("listen raft on %s: %w", cfg.BindAddr, err)
		}
		n.transport = tt
		n.closers = append([]io.Closer{tt}, n.closers...)
	}

	if cfg.Bootstrap {
		has, err := raft.HasExistingState(logs, stable, snaps)
		if err != nil {
			return nil, fmt.Errorf("check existing raft state: %w", err)
		}
		if !has {
			conf := raft.Configuration{Servers: []raft.Server{{
				Suffrage: raft.Voter, ID: rc.LocalID, Address: n.transport.LocalAddr(),
			}}}
			if err := raft.BootstrapCluster(rc, logs, stable, snaps, n.transport, conf); err != nil &&
				!errors.Is(err, raft.ErrCantBootstrap) {
				return nil, fmt.Errorf("bootstrap raft: %w", err)
			}
		}
	}

	r, err := raft.NewRaft(rc, fsm, logs, stable, snaps, n.transport)
	if err != nil {
		return nil, fmt.Errorf("start raft: %w", err)
	}
	n.raft = r
	return n, nil
}

// shutdown stops raft, then closes the transport and stores it owns.
func (n *raftNode) shutdown() error {
	var errs []error
	if n.raft != nil {
		if err := n.raft.Shutdown().Error(); err != nil {
			errs = append(errs, fmt.Errorf("shutdown raft: %w", err))
		}
	}
	if err := n.closeParts(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (n *raftNode) closeParts() error {
	var errs []error
	for _, c := range n.closers {
		if err := c.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	n.closers = nil
	return errors.Join(errs...)
}
