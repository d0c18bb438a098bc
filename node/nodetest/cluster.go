package nodetest

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/rs/zerolog"

	"github.com/diegod/diegod/model"
	"github.com/diegod/diegod/node"
)

// Options configure a Cluster.
type Options struct {
	// Nodes is how many nodes start (default 3).
	Nodes int
	// MemoryMB and DiskMB are each cell's capacity (default 4096).
	MemoryMB, DiskMB int
	// Configure, if set, adjusts node i's config before it first starts.
	Configure func(i int, cfg *node.Config)
	// LogLevel is the level of node logs written to the test log (default
	// warn). Set DIEGOD_TEST_LOG=debug to override from the environment.
	LogLevel zerolog.Level
}

// Node is one member of a Cluster. Node is nil while it is stopped.
type Node struct {
	*node.Node
	Name   string
	Config node.Config
	// Client talks to the node's API (HTTPS, cluster CA, operator token).
	Client *node.Client

	cancel context.CancelFunc
	done   chan error
}

// Cluster is a set of nodes on one FaultNet.
type Cluster struct {
	Net   *FaultNet
	Nodes []*Node
	dir   string
	opts  Options
	logw  *safeWriter
	token string
	seed  string // API address of node 0 (the bootstrap node)
	mu    sync.Mutex
}

// NewCluster bootstraps node 0, joins the others with its join token and
// waits until every node is a Raft member (voters up to MaxVoters), alive
// in gossip and registered as a cell. It stops every node when the test
// ends.
func NewCluster(t testing.TB, opts Options) *Cluster {
	t.Helper()
	if opts.Nodes == 0 {
		opts.Nodes = 3
	}
	if opts.MemoryMB == 0 {
		opts.MemoryMB = 4096
	}
	if opts.DiskMB == 0 {
		opts.DiskMB = 4096
	}
	if opts.LogLevel == 0 {
		opts.LogLevel = zerolog.WarnLevel
	}
	if lvl, err := zerolog.ParseLevel(os.Getenv("DIEGOD_TEST_LOG")); err == nil && lvl != zerolog.NoLevel {
		opts.LogLevel = lvl
	}
	c := &Cluster{Net: NewFaultNet(), dir: t.TempDir(), opts: opts, logw: &safeWriter{t: t}}
	t.Cleanup(func() { c.StopAll(t); c.logw.close() })
	for i := 0; i < opts.Nodes; i++ {
		cfg := node.DefaultConfig()
		cfg.NodeName = fmt.Sprintf("node-%d", i)
		cfg.DataDir = filepath.Join(c.dir, cfg.NodeName)
		cfg.Runtime = node.RuntimeFake
		cfg.APIPort, cfg.RaftPort, cfg.GossipPort, cfg.RouterPort = 0, 0, 0, 0
		cfg.MemoryMB, cfg.DiskMB = opts.MemoryMB, opts.DiskMB
		cfg.StopGrace = time.Second
		cfg.CellLostGrace = time.Second
		cfg.Network = c.Net.For(cfg.NodeName)
		if opts.Configure != nil {
			opts.Configure(i, &cfg)
		}
		c.Nodes = append(c.Nodes, &Node{Name: cfg.NodeName, Config: cfg})
	}
	c.start(t, 0)
	WaitFor(t, 10*time.Second, "node-0 leads", func() bool { return c.Nodes[0].Store().IsLeader() })
	c.token = c.Nodes[0].JoinToken().String()
	c.seed = c.Nodes[0].APIAddr()
	var wg sync.WaitGroup
	errs := make([]error, opts.Nodes)
	for i := 1; i < opts.Nodes; i++ {
		c.Nodes[i].Config.Join, c.Nodes[i].Config.JoinToken = c.seed, c.token
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = c.tryStart(t, i)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("start node-%d: %v", i, err)
		}
	}
	c.WaitStable(t)
	return c
}

// Token returns the join token the cluster was formed with.
func (c *Cluster) Token() string { return c.token }

// SeedAddr returns the API address of node 0.
func (c *Cluster) SeedAddr() string { return c.seed }

// Logger returns a logger writing to the test log at the cluster's level.
func (c *Cluster) Logger() zerolog.Logger {
	return zerolog.New(c.logw).Level(c.opts.LogLevel).With().Timestamp().Logger()
}

func (c *Cluster) start(t testing.TB, i int) {
	t.Helper()
	if err := c.tryStart(t, i); err != nil {
		t.Fatalf("start %s: %v", c.Nodes[i].Name, err)
	}
}

// tryStart starts node i on its config; after the first start its ports
// are pinned so a restart comes back on the same addresses.
func (c *Cluster) tryStart(t testing.TB, i int) error {
	tn := c.Nodes[i]
	n, err := node.New(tn.Config, c.Logger())
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	client, err := node.NewClient(n.APIAddr(), n.Token(), n.CACertPEM())
	if err != nil {
		cancel()
		return err
	}
	c.mu.Lock()
	tn.Node, tn.Client, tn.cancel, tn.done = n, client, cancel, done
	tn.Config.APIPort = port(n.APIAddr())
	tn.Config.RouterPort = port(n.RouterAddr())
	tn.Config.RaftPort = port(n.RaftAddr())
	tn.Config.GossipPort = port(n.GossipAddr())
	c.mu.Unlock()
	return nil
}

func port(addr string) int {
	_, p, _ := net.SplitHostPort(addr)
	v, _ := strconv.Atoi(p)
	return v
}

// Running returns the nodes that run.
func (c *Cluster) Running() []*Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*Node
	for _, n := range c.Nodes {
		if n.Node != nil {
			out = append(out, n)
		}
	}
	return out
}

// Kill hard-stops node i: it is isolated on the network first (so it
// cannot say goodbye or finish anything), then its process stops.
func (c *Cluster) Kill(t testing.TB, i int) {
	t.Helper()
	c.Net.Partition(c.Nodes[i].Name)
	c.stop(t, i)
}

// Leave stops node i gracefully: Node.Leave (leadership transfer,
// evacuation, gossip goodbye), then stop.
func (c *Cluster) Leave(t testing.TB, i int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := c.Nodes[i].Leave(ctx); err != nil {
		t.Errorf("leave %s: %v", c.Nodes[i].Name, err)
	}
	c.stop(t, i)
}

func (c *Cluster) stop(t testing.TB, i int) {
	t.Helper()
	c.mu.Lock()
	tn := c.Nodes[i]
	cancel, done := tn.cancel, tn.done
	tn.cancel = nil
	c.mu.Unlock()
	if cancel == nil {
		return
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("%s: Run: %v", tn.Name, err)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("%s did not stop within 30 s", tn.Name)
	}
	c.mu.Lock()
	tn.Node = nil
	c.mu.Unlock()
}

// Restart starts a stopped node i again on its data dir and ports (no
// token needed) after healing its network.
func (c *Cluster) Restart(t testing.TB, i int) {
	t.Helper()
	c.Net.Heal(c.Nodes[i].Name)
	c.Nodes[i].Config.JoinToken = ""
	c.start(t, i)
}

// StopAll stops every running node.
func (c *Cluster) StopAll(t testing.TB) {
	t.Helper()
	for i := range c.Nodes {
		c.stop(t, i)
	}
}

// Leader returns the running node that leads, or nil.
func (c *Cluster) Leader() *Node {
	for _, n := range c.Running() {
		if n.Store().IsLeader() {
			return n
		}
	}
	return nil
}

// WaitLeader waits until exactly one running node leads and every running
// node that can reach it agrees, and returns it.
func (c *Cluster) WaitLeader(t testing.TB) *Node {
	t.Helper()
	var leader *Node
	WaitFor(t, 15*time.Second, "one leader", func() bool {
		leader = nil
		for _, n := range c.Running() {
			if n.Store().IsLeader() {
				if leader != nil {
					return false
				}
				leader = n
			}
		}
		if leader == nil {
			return false
		}
		for _, n := range c.Running() {
			if c.Net.blocked(n.Name, leader.Name) {
				continue
			}
			if id, _ := n.Store().Leader(); id != leader.Name {
				return false
			}
		}
		return true
	})
	return leader
}

// WaitStable waits until the running nodes form one healthy cluster: a
// leader, every running node in its Raft configuration (voters up to
// MaxVoters), alive in its gossip view, and ALIVE as a cell.
func (c *Cluster) WaitStable(t testing.TB) {
	t.Helper()
	WaitFor(t, 30*time.Second, "a stable cluster", func() bool {
		leader := c.Leader()
		if leader == nil {
			return false
		}
		fut := leader.Store().Raft().GetConfiguration()
		if fut.Error() != nil {
			return false
		}
		servers := map[string]raft.ServerSuffrage{}
		voters := 0
		for _, s := range fut.Configuration().Servers {
			servers[string(s.ID)] = s.Suffrage
			if s.Suffrage == raft.Voter {
				voters++
			}
		}
		running := c.Running()
		if voters < min(len(servers), leader.Config.MaxVoters) {
			return false // a promotion is pending
		}
		members := map[string]string{}
		for _, m := range leader.Members() {
			members[m.Node] = m.Gossip
		}
		v := leader.Store().View()
		for _, n := range running {
			if _, ok := servers[n.Name]; !ok || members[n.Name] != "alive" {
				return false
			}
			if cl, ok := v.Cell(n.Name); !ok || cl.State != model.CellAlive {
				return false
			}
			if n.Store().AppliedIndex() < leader.Store().AppliedIndex() {
				return false
			}
		}
		return true
	})
}

// WaitFor polls cond every 10 ms until it holds, failing the test after d.
func WaitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// safeWriter writes node logs to the test log until the test ends (nodes'
// background goroutines may still log during shutdown).
type safeWriter struct {
	mu     sync.Mutex
	t      testing.TB
	closed bool
}

var _ io.Writer = (*safeWriter)(nil)

func (w *safeWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.closed {
		w.t.Log(string(p[:len(p)-min(1, len(p))]))
	}
	return len(p), nil
}

func (w *safeWriter) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closed = true
}
