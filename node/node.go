package node

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/rs/zerolog"
	"golang.org/x/sync/errgroup"

	"github.com/diegod/diegod/auction"
	"github.com/diegod/diegod/cell"
	"github.com/diegod/diegod/raftstore"
	"github.com/diegod/diegod/routing"
)

// Raft network transport settings.
const (
	raftMaxPool = 3
	// raftIOTimeout bounds one Raft RPC on the wire (raft's own default).
	raftIOTimeout = 10 * time.Second
	// gossipLeaveTimeout bounds the goodbye broadcast of a graceful leave.
	gossipLeaveTimeout = 2 * time.Second
)

// joinedMarker is written into the tls dir of a node that joined a cluster
// (as opposed to bootstrapping one): such a node never bootstraps Raft,
// even if it restarts before the leader added it.
const joinedMarker = "joined"

// Node is one diegod process: store, API, leader work, gossip, cell and
// router.
type Node struct {
	cfg      Config
	log      zerolog.Logger
	nw       Network
	adv      net.IP
	pki      *pki
	book     *peerBook
	gossip   *gossip
	internal *http.Client
	store    *raftstore.Store
	raftTr   *raft.NetworkTransport
	cell     *cell.Cell
	runtime  cell.Runtime
	router   *routing.Server
	assign   *assignments
	lead     *leadership
	prop     forwardingProposer
	api      *api
	apiLn    net.Listener
	routerLn net.Listener
	registry *prometheus.Registry
	token    string
	// bootstrap: this node created the cluster (it bootstraps Raft);
	// created: it did so in this process.
	bootstrap, created bool
	left               atomic.Bool
}

// New sets up the node's PKI (bootstrapping a cluster, joining one, or
// loading the certificates of an earlier start), opens its store and
// listeners and starts gossip; Run starts everything else.
func New(cfg Config, log zerolog.Logger) (n *Node, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	n = &Node{cfg: cfg, log: log.With().Str("node", cfg.NodeName).Logger(), registry: prometheus.NewRegistry(),
		nw: cfg.Network, adv: advertiseIP(cfg.Bind)}
	if n.nw == nil {
		n.nw = realNetwork{}
	}
	self := n // the named result is nil on error returns
	defer func() {
		if err != nil {
			self.closeAll()
		}
	}()
	n.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if n.book, err = loadPeerBook(cfg.DataDir); err != nil {
		return nil, fmt.Errorf("peers: %w", err)
	}
	if err := n.setupPKI(); err != nil {
		return nil, err
	}
	n.internal = n.pki.internalClient(n.nw)
	if n.token, err = operatorToken(cfg.DataDir); err != nil {
		return nil, fmt.Errorf("operator token: %w", err)
	}
	if err := n.listen(); err != nil {
		return nil, err
	}
	if err := n.openStore(); err != nil {
		return nil, err
	}
	if err := n.startGossip(); err != nil {
		return nil, err
	}
	if n.runtime, err = newRuntime(cfg, n.log); err != nil {
		return nil, fmt.Errorf("runtime %s: %w", cfg.Runtime, err)
	}
	n.assign = newAssignments(n.store)
	n.prop = forwardingProposer{n}
	ccfg := cell.DefaultConfig()
	ccfg.CellID = cfg.NodeName
	ccfg.Address = n.adv.String()
	ccfg.Zone = cfg.Zone
	ccfg.Capacity = machineCapacity(cfg)
	ccfg.PlacementTags = cfg.PlacementTags
	ccfg.OptionalPlacementTags = cfg.OptionalPlacementTags
	ccfg.StopGrace = cfg.StopGrace
	if n.cell, err = cell.New(ccfg, n.runtime, n.assign, reporter{prop: n.prop}, n.log); err != nil {
		return nil, err
	}
	for _, c := range n.cell.Collectors() {
		n.registry.MustRegister(c)
	}
	acfg := auction.DefaultConfig()
	acfg.ConvergeInterval = cfg.ConvergeInterval
	acfg.Tasks = cfg.Tasks
	if acfg.Metrics, err = newAuctionMetrics(n.registry); err != nil {
		return nil, err
	}
	// The leader's own writes never need forwarding.
	runner := auction.NewRunner(auctionSource{n.store}, n.store, acfg, n.log)
	callbacks, err := newTaskCallbacks(n.store, n.store, DefaultTaskCallbackConfig(), n.log)
	if err != nil {
		return nil, err
	}
	n.lead = newLeadership(n.store, n.log.With().Str("component", "leader").Logger(), runner.Run, newMembership(n).Run, callbacks.Run)
	rcfg := routing.DefaultConfig()
	rcfg.ListenAddr = n.routerLn.Addr().String()
	rcfg.LocalAddress = n.adv.String()
	rmetrics, err := routing.NewMetrics(n.registry)
	if err != nil {
		return nil, err
	}
	if n.router, err = routing.NewServer(rcfg, routingSource{n.store}, n.cell.Logs(), rmetrics, n.log); err != nil {
		return nil, err
	}
	n.api = &api{store: n.store, prop: n.prop, logs: clusterLogs{n: n, local: n.cell.Logs()}, metrics: cellMetrics{n.cell},
		members: n.members, routes: n.routes, hasLeader: n.hasLeader, cellID: cfg.NodeName, token: n.token, maxBody: cfg.MaxRequestBytes,
		registry: n.registry, log: n.log.With().Str("component", "api").Logger(), cluster: n}
	return n, nil
}

// setupPKI loads the node's certificates, or joins the cluster named by
// Config.Join, or creates a new cluster.
func (n *Node) setupPKI() error {
	dir := n.cfg.DataDir
	p, err := loadPKI(dir)
	switch {
	case err == nil:
		n.pki = p
		_, serr := os.Stat(filepath.Join(dir, tlsDir, joinedMarker))
		n.bootstrap = serr != nil
		if n.cfg.Join != "" {
			n.log.Info().Msg("already a cluster member; --join and --token are ignored")
		}
		return nil
	case !errors.Is(err, ErrNoPKI):
		return fmt.Errorf("load certificates: %w", err)
	}
	ips := certIPs(n.cfg.Bind)
	if !n.adv.Equal(net.ParseIP(n.cfg.Bind)) {
		ips = append(ips, n.adv)
	}
	if n.cfg.Join == "" {
		if n.pki, err = newPKI(n.cfg.NodeName, ips, time.Now()); err != nil {
			return fmt.Errorf("create cluster CA: %w", err)
		}
		n.bootstrap, n.created = true, true
		return n.pki.save(dir)
	}
	if n.cfg.JoinToken == "" {
		return fmt.Errorf("join %s: a join token is required (run `diegod token` on a member): %w", n.cfg.Join, ErrNoPKI)
	}
	tok, err := ParseToken(n.cfg.JoinToken)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), n.cfg.JoinTimeout)
	defer cancel()
	j, err := joinCluster(ctx, n.nw, n.cfg.Join, tok, n.cfg.NodeName, ips, n.log)
	if err != nil {
		return err
	}
	n.pki = j.pki
	if err := n.pki.save(dir); err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(dir, tokenFile), []byte(j.operatorToken)); err != nil {
		return err
	}
	for name, p := range j.peers {
		if name != n.cfg.NodeName {
			n.book.put(name, p)
		}
	}
	if err := n.book.flush(); err != nil {
		return err
	}
	n.log.Info().Str(logKeyJoin, n.cfg.Join).Msg("joined cluster")
	return writeFileAtomic(filepath.Join(dir, tlsDir, joinedMarker), []byte(n.cfg.Join+"\n"))
}

// listen opens the API (TLS unless --dev), router and Raft listeners.
func (n *Node) listen() error {
	raw, err := n.nw.Listen(n.cfg.addr(n.cfg.APIPort))
	if err != nil {
		return fmt.Errorf("api listener: %w", err)
	}
	n.apiLn = raw
	if !n.cfg.Dev {
		n.apiLn = tls.NewListener(raw, n.pki.apiTLS())
	}
	if n.routerLn, err = net.Listen("tcp", n.cfg.addr(n.cfg.RouterPort)); err != nil {
		return fmt.Errorf("router listener: %w", err)
	}
	rawRaft, err := n.nw.Listen(n.cfg.addr(n.cfg.RaftPort))
	if err != nil {
		return fmt.Errorf("raft listener: %w", err)
	}
	stream := newTLSStreamLayer(rawRaft, n.pki, n.nw)
	stream.adv = &net.TCPAddr{IP: n.adv, Port: rawRaft.Addr().(*net.TCPAddr).Port}
	n.raftTr = raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream: stream, MaxPool: raftMaxPool, Timeout: raftIOTimeout,
		Logger: hclog.New(&hclog.LoggerOptions{Name: "raft-net", Level: hclog.Warn,
			Output: &lineLogWriter{log: n.log.With().Str("component", "raft").Logger()}}),
	})
	return nil
}

func (n *Node) openStore() error {
	rcfg := raftstore.DefaultConfig()
	rcfg.NodeID = n.cfg.NodeName
	rcfg.DataDir = filepath.Join(n.cfg.DataDir, "raft")
	rcfg.Transport = n.raftTr
	rcfg.Bootstrap = n.bootstrap
	rcfg.InMemory = n.cfg.InMemoryRaft
	rec, err := raftstore.NewPrometheusRecorder(n.registry)
	if err != nil {
		return err
	}
	rcfg.Metrics = rec
	store, err := raftstore.Open(rcfg, n.log)
	if err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	n.store = store
	return nil
}

// startGossip starts memberlist on the gossip port.
func (n *Node) startGossip() error {
	logger := log.New(&lineLogWriter{log: n.log.With().Str("component", "gossip").Logger()}, "", 0)
	tr, port, err := n.nw.GossipTransport(n.cfg.Bind, n.cfg.GossipPort, logger)
	if err != nil {
		return err
	}
	meta := nodeMeta{Raft: string(n.raftTr.LocalAddr()), API: n.advertiseAPI()}
	n.gossip, err = newGossip(n.cfg.NodeName, n.adv, port, tr, gossipKey(n.pki.clusterKey), meta, n.cfg.Gossip, n.book, n.log)
	if err != nil {
		tr.Shutdown()
		return err
	}
	return nil
}

// advertiseAPI is the API address other nodes and the join command use.
func (n *Node) advertiseAPI() string {
	return hostPort(n.adv, n.apiLn.Addr().(*net.TCPAddr).Port)
}

func (n *Node) selfPeer() peer {
	return peer{Gossip: n.gossip.LocalAddr(), Raft: string(n.raftTr.LocalAddr()), API: n.advertiseAPI()}
}

// APIAddr returns the API's listen address.
func (n *Node) APIAddr() string { return n.apiLn.Addr().String() }

// APIURL returns the API's URL (https unless --dev).
func (n *Node) APIURL() string {
	if n.cfg.Dev {
		return "http://" + n.APIAddr()
	}
	return "https://" + n.APIAddr()
}

// CACertPEM returns the cluster CA certificate in PEM.
func (n *Node) CACertPEM() []byte { return n.pki.caCertPEM }

// Bootstrapped reports whether this process created a new cluster.
func (n *Node) Bootstrapped() bool { return n.created }

// RaftAddr returns the node's advertised Raft address.
func (n *Node) RaftAddr() string { return string(n.raftTr.LocalAddr()) }

// GossipAddr returns the node's gossip address.
func (n *Node) GossipAddr() string { return n.gossip.LocalAddr() }

// Members returns Raft and gossip membership as this node sees it.
func (n *Node) Members() []Member { return n.members() }

// RouterAddr returns the router's listen address.
func (n *Node) RouterAddr() string { return n.routerLn.Addr().String() }

// Token returns the operator token.
func (n *Node) Token() string { return n.token }

// Name returns the node name (its cell id).
func (n *Node) Name() string { return n.cfg.NodeName }

// Store returns the node's store (tests and operations).
func (n *Node) Store() *raftstore.Store { return n.store }

// Cell returns the node's cell.
func (n *Node) Cell() *cell.Cell { return n.cell }

// Runtime returns the node's container runtime.
func (n *Node) Runtime() cell.Runtime { return n.runtime }

// Run serves until ctx ends, then shuts every component down and closes the
// store. Cancelling ctx is a hard stop as far as the cluster is concerned
// (no goodbye in gossip, no evacuation); call Leave first for a graceful
// one.
func (n *Node) Run(ctx context.Context) error {
	defer n.closeAll()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if err := n.writeContext(); err != nil {
		n.log.Warn().Err(err).Msg("cannot write context file")
	}
	srv := &http.Server{Handler: n.api.handler(), ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: log.New(&lineLogWriter{log: n.log.With().Str("component", "api").Logger(), debugOnly: true}, "", 0)}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		if err := srv.Serve(n.apiLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("api: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		<-gctx.Done()
		sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer scancel()
		return srv.Shutdown(sctx)
	})
	g.Go(func() error { return n.assign.Run(gctx) })
	g.Go(func() error { return n.lead.Run(gctx) })
	g.Go(func() error { return n.cell.Run(gctx) })
	g.Go(func() error { return n.router.Serve(gctx, n.routerLn) })
	g.Go(func() error { n.runGossip(gctx); return nil })
	n.log.Info().Str("api", n.APIURL()).Str("router", n.RouterAddr()).Str("raft", string(n.raftTr.LocalAddr())).
		Str("gossip", n.gossip.LocalAddr()).Str("data_dir", n.cfg.DataDir).Str("runtime", n.cfg.Runtime).Msg("node started")
	if n.created {
		n.log.Info().Str("join_command", n.tokenInfo().JoinCommand).Msg("cluster bootstrapped")
	}
	err := g.Wait()
	n.log.Info().Msg("node stopped")
	return err
}

// runGossip joins the known members at start and then, every
// ReconnectInterval, those it sees as dead or left (a healed partition
// merges even after memberlist stopped gossiping to the dead), and saves
// the peer book.
func (n *Node) runGossip(ctx context.Context) {
	t := time.NewTicker(n.cfg.Gossip.ReconnectInterval)
	defer t.Stop()
	for {
		if targets := n.gossip.reconnectTargets(); len(targets) > 0 && !n.left.Load() {
			if k, err := n.gossip.Join(targets); err != nil && k == 0 {
				n.log.Debug().Err(err).Int(logKeyCount, len(targets)).Msg("gossip reconnect failed")
			}
		}
		if err := n.book.flush(); err != nil {
			n.log.Warn().Err(err).Msg("cannot save peers")
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (n *Node) closeAll() {
	if n.apiLn != nil {
		n.apiLn.Close()
	}
	if n.routerLn != nil {
		n.routerLn.Close()
	}
	if n.gossip != nil {
		if err := n.gossip.Shutdown(); err != nil {
			n.log.Warn().Err(err).Msg("stop gossip")
		}
	}
	if n.store != nil {
		if err := n.store.Close(); err != nil {
			n.log.Warn().Err(err).Msg("close store")
		}
		n.store = nil
	}
	if n.raftTr != nil {
		n.raftTr.Close()
		n.raftTr = nil
	}
	if n.internal != nil {
		n.internal.CloseIdleConnections()
	}
}

func (n *Node) writeContext() error {
	c := CLIContext{APIAddr: n.APIURL(), Token: n.token, Node: n.cfg.NodeName}
	if !n.cfg.Dev {
		c.CACert = string(n.pki.caCertPEM)
	}
	if err := WriteContext(n.cfg.DataDir, c); err != nil {
		return err
	}
	if n.cfg.UserContextDir == "" {
		return nil
	}
	return WriteContext(n.cfg.UserContextDir, c)
}

func (n *Node) hasLeader() bool {
	addr, _ := n.store.Raft().LeaderWithID()
	return addr != ""
}

// routes lists this node's route table.
func (n *Node) routes() []routing.Route {
	r := n.router.Router().Table().Routes()
	if r == nil {
		r = []routing.Route{}
	}
	return r
}

// cellMetrics adapts the cell's metrics to the API's.
type cellMetrics struct{ c *cell.Cell }

func (m cellMetrics) InstanceMetrics(guid string) (InstanceMetrics, bool) {
	cm, ok := m.c.InstanceMetrics(guid)
	if !ok {
		return InstanceMetrics{}, false
	}
	return InstanceMetrics{CPUPercent: cm.CPUPercent, MemoryBytes: cm.MemoryBytes, DiskBytes: cm.DiskBytes}, true
}
