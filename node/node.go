package node

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/rs/zerolog"
	"golang.org/x/sync/errgroup"

	"github.com/diegod/diegod/auction"
	"github.com/diegod/diegod/cell"
	"github.com/diegod/diegod/raftstore"
	"github.com/diegod/diegod/routing"
)

// Node is one diegod process: store, API, leader work, cell and router.
type Node struct {
	cfg      Config
	log      zerolog.Logger
	store    *raftstore.Store
	cell     *cell.Cell
	runtime  cell.Runtime
	router   *routing.Server
	assign   *assignments
	lead     *leadership
	api      *api
	apiLn    net.Listener
	routerLn net.Listener
	registry *prometheus.Registry
	token    string
}

// New opens the node's store and listeners; Run starts everything.
func New(cfg Config, log zerolog.Logger) (n *Node, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	n = &Node{cfg: cfg, log: log.With().Str("node", cfg.NodeName).Logger(), registry: prometheus.NewRegistry()}
	defer func() {
		if err != nil {
			n.closeAll()
		}
	}()
	n.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if n.token, err = operatorToken(cfg.DataDir); err != nil {
		return nil, fmt.Errorf("operator token: %w", err)
	}
	if n.apiLn, err = net.Listen("tcp", cfg.addr(cfg.APIPort)); err != nil {
		return nil, fmt.Errorf("api listener: %w", err)
	}
	if n.routerLn, err = net.Listen("tcp", cfg.addr(cfg.RouterPort)); err != nil {
		return nil, fmt.Errorf("router listener: %w", err)
	}
	if err := n.openStore(); err != nil {
		return nil, err
	}
	if n.runtime, err = newRuntime(cfg, n.log); err != nil {
		return nil, fmt.Errorf("runtime %s: %w", cfg.Runtime, err)
	}
	n.assign = newAssignments(n.store)
	prop := localProposer{n.store}
	ccfg := cell.DefaultConfig()
	ccfg.CellID = cfg.NodeName
	ccfg.Address = cfg.Bind
	ccfg.Zone = cfg.Zone
	ccfg.Capacity = machineCapacity(cfg)
	ccfg.PlacementTags = cfg.PlacementTags
	ccfg.OptionalPlacementTags = cfg.OptionalPlacementTags
	ccfg.StopGrace = cfg.StopGrace
	if n.cell, err = cell.New(ccfg, n.runtime, n.assign, reporter{prop: prop}, n.log); err != nil {
		return nil, err
	}
	for _, c := range n.cell.Collectors() {
		n.registry.MustRegister(c)
	}
	acfg := auction.DefaultConfig()
	acfg.ConvergeInterval = cfg.ConvergeInterval
	runner := auction.NewRunner(auctionSource{n.store}, prop, acfg, n.log)
	n.lead = newLeadership(n.store, runner, n.log.With().Str("component", "leader").Logger())
	rcfg := routing.DefaultConfig()
	rcfg.ListenAddr = n.routerLn.Addr().String()
	rcfg.LocalAddress = cfg.Bind
	rmetrics, err := routing.NewMetrics(n.registry)
	if err != nil {
		return nil, err
	}
	if n.router, err = routing.NewServer(rcfg, routingSource{n.store}, n.cell.Logs(), rmetrics, n.log); err != nil {
		return nil, err
	}
	n.api = &api{store: n.store, prop: prop, logs: n.cell.Logs(), metrics: cellMetrics{n.cell},
		members: n.members, routes: n.routes, hasLeader: n.hasLeader, token: n.token, maxBody: cfg.MaxRequestBytes,
		registry: n.registry, log: n.log.With().Str("component", "api").Logger()}
	return n, nil
}

func (n *Node) openStore() error {
	rcfg := raftstore.DefaultConfig()
	rcfg.NodeID = n.cfg.NodeName
	rcfg.DataDir = filepath.Join(n.cfg.DataDir, "raft")
	rcfg.BindAddr = n.cfg.addr(n.cfg.RaftPort)
	rcfg.Bootstrap = true
	rcfg.InMemory = n.cfg.InMemoryRaft
	store, err := raftstore.Open(rcfg, n.log)
	if err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	n.store = store
	return nil
}

// APIAddr returns the API's listen address.
func (n *Node) APIAddr() string { return n.apiLn.Addr().String() }

// RouterAddr returns the router's listen address.
func (n *Node) RouterAddr() string { return n.routerLn.Addr().String() }

// Token returns the operator token.
func (n *Node) Token() string { return n.token }

// Store returns the node's store (tests and operations).
func (n *Node) Store() *raftstore.Store { return n.store }

// Cell returns the node's cell.
func (n *Node) Cell() *cell.Cell { return n.cell }

// Run serves until ctx ends, then shuts every component down and closes the
// store.
func (n *Node) Run(ctx context.Context) error {
	defer n.closeAll()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if err := n.writeContext(); err != nil {
		n.log.Warn().Err(err).Msg("cannot write context file")
	}
	srv := &http.Server{Handler: n.api.handler(), ReadHeaderTimeout: 10 * time.Second}
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
	n.log.Info().Str("api", n.APIAddr()).Str("router", n.RouterAddr()).Str("data_dir", n.cfg.DataDir).
		Str("runtime", n.cfg.Runtime).Msg("node started")
	err := g.Wait()
	n.log.Info().Msg("node stopped")
	return err
}

func (n *Node) closeAll() {
	if n.apiLn != nil {
		n.apiLn.Close()
	}
	if n.routerLn != nil {
		n.routerLn.Close()
	}
	if n.store != nil {
		if err := n.store.Close(); err != nil {
			n.log.Warn().Err(err).Msg("close store")
		}
		n.store = nil
	}
}

func (n *Node) writeContext() error {
	c := CLIContext{APIAddr: "http://" + n.APIAddr(), Token: n.token, Node: n.cfg.NodeName}
	if err := WriteContext(n.cfg.DataDir, c); err != nil {
		return err
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return nil
	}
	return WriteContext(filepath.Join(home, ".diegod"), c)
}

func (n *Node) hasLeader() bool {
	addr, _ := n.store.Raft().LeaderWithID()
	return addr != ""
}

// members reports Raft membership. Gossip membership arrives with
// clustering; a one-node cluster's only member is alive.
func (n *Node) members() []Member {
	leaderAddr, _ := n.store.Raft().LeaderWithID()
	fut := n.store.Raft().GetConfiguration()
	if fut.Error() != nil {
		return []Member{{Node: n.cfg.NodeName, Raft: "none", Gossip: "alive"}}
	}
	out := []Member{}
	for _, s := range fut.Configuration().Servers {
		role := "voter"
		if s.Suffrage != 0 {
			role = "nonvoter"
		}
		if s.Address == leaderAddr {
			role = "leader"
		}
		out = append(out, Member{Node: string(s.ID), Address: string(s.Address), Raft: role, Gossip: "alive"})
	}
	return out
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

