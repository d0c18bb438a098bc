package raftstoretest

import (
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/diegod/diegod/model"
	"github.com/diegod/diegod/raftstore"
	"github.com/hashicorp/raft"
	"github.com/rs/zerolog"
)

// Timings for in-process clusters: much shorter than the LAN defaults so
// elections finish quickly, long enough for a loaded 2-core CI machine
// running -race.
const (
	HeartbeatTimeout   = 150 * time.Millisecond
	ElectionTimeout    = 150 * time.Millisecond
	LeaderLeaseTimeout = 100 * time.Millisecond
	// WaitTimeout bounds every wait of the helpers.
	WaitTimeout = 20 * time.Second
)

// Config returns a store config for node id on transport, in memory.
func Config(id string, trans raft.Transport) raftstore.Config {
	cfg := raftstore.DefaultConfig()
	cfg.NodeID = id
	cfg.InMemory = true
	cfg.Transport = trans
	cfg.HeartbeatTimeout = HeartbeatTimeout
	cfg.ElectionTimeout = ElectionTimeout
	cfg.LeaderLeaseTimeout = LeaderLeaseTimeout
	return cfg
}

// Cluster is n Stores connected by in-memory transports. Node 0 bootstraps
// the group and the others join it as voters.
type Cluster struct {
	t          testing.TB
	Stores     []*raftstore.Store
	Transports []*raft.InmemTransport
	Addrs      []raft.ServerAddress

	mu          sync.Mutex
	partitioned map[int]bool
}

// NewCluster starts n stores, waits for node 0 to lead and adds the others
// as voters. The stores are closed at cleanup.
func NewCluster(t testing.TB, n int) *Cluster {
	t.Helper()
	if n < 1 {
		t.Fatalf("NewCluster: n = %d, want >= 1", n)
	}
	c := &Cluster{t: t, partitioned: map[int]bool{}}
	for i := 0; i < n; i++ {
		addr, trans := raft.NewInmemTransport(raft.ServerAddress(fmt.Sprintf("node%d", i)))
		c.Addrs = append(c.Addrs, addr)
		c.Transports = append(c.Transports, trans)
	}
	c.connectAll()
	log := zerolog.Nop()
	if testing.Verbose() {
		log = zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)
	}
	for i := 0; i < n; i++ {
		cfg := Config(fmt.Sprintf("node%d", i), c.Transports[i])
		cfg.Bootstrap = i == 0
		s, err := raftstore.Open(cfg, log.With().Int("node", i).Logger())
		if err != nil {
			t.Fatalf("open node%d: %v", i, err)
		}
		c.Stores = append(c.Stores, s)
	}
	t.Cleanup(func() {
		for i := len(c.Stores) - 1; i >= 0; i-- {
			if err := c.Stores[i].Close(); err != nil {
				t.Errorf("close node%d: %v", i, err)
			}
		}
		for _, tr := range c.Transports {
			_ = tr.Close()
		}
	})
	c.waitFor(func() bool { return c.Stores[0].IsLeader() }, "node0 to lead")
	for i := 1; i < n; i++ {
		f := c.Stores[0].Raft().AddVoter(raft.ServerID(fmt.Sprintf("node%d", i)), c.Addrs[i], 0, WaitTimeout)
		if err := f.Error(); err != nil {
			t.Fatalf("add voter node%d: %v", i, err)
		}
	}
	return c
}

func (c *Cluster) connectAll() {
	for i, ti := range c.Transports {
		for j, tj := range c.Transports {
			if i != j {
				ti.Connect(c.Addrs[j], tj)
			}
		}
	}
}

// waitFor polls cond until it holds or WaitTimeout passes.
func (c *Cluster) waitFor(cond func() bool, what string) {
	c.t.Helper()
	deadline := time.Now().Add(WaitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			c.t.Fatalf("timed out after %v waiting for %s", WaitTimeout, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Partitioned reports whether node i is cut off.
func (c *Cluster) Partitioned(i int) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.partitioned[i]
}

// Partition cuts node i off from every other node, both ways.
func (c *Cluster) Partition(i int) {
	c.mu.Lock()
	c.partitioned[i] = true
	c.mu.Unlock()
	c.Transports[i].DisconnectAll()
	for j, tj := range c.Transports {
		if j != i {
			tj.Disconnect(c.Addrs[i])
		}
	}
}

// Heal reconnects every node.
func (c *Cluster) Heal() {
	c.mu.Lock()
	c.partitioned = map[int]bool{}
	c.mu.Unlock()
	c.connectAll()
}

// WaitLeader waits until exactly one connected node is leader and returns
// its position.
func (c *Cluster) WaitLeader() int {
	c.t.Helper()
	leader := -1
	c.waitFor(func() bool {
		leader = -1
		for i, s := range c.Stores {
			if c.Partitioned(i) || !s.IsLeader() {
				continue
			}
			if leader >= 0 {
				return false
			}
			leader = i
		}
		return leader >= 0
	}, "a single leader")
	return leader
}

// Leader returns the store WaitLeader finds.
func (c *Cluster) Leader() *raftstore.Store { return c.Stores[c.WaitLeader()] }

// Follower returns the position of a connected node that is not leader.
func (c *Cluster) Follower() int {
	c.t.Helper()
	l := c.WaitLeader()
	for i := range c.Stores {
		if i != l && !c.Partitioned(i) {
			return i
		}
	}
	c.t.Fatalf("no connected follower")
	return -1
}

// State is the comparable content of a View.
type State struct {
	Index   uint64
	Desired []model.DesiredLRP
	Actuals []model.ActualLRP
	Cells   []model.Cell
}

// StateOf reads a store's state from one View.
func StateOf(s *raftstore.Store) State {
	v := s.View()
	return State{Index: v.Index(), Desired: v.DesiredLRPs(), Actuals: v.ActualLRPs(), Cells: v.Cells()}
}

// EnsureSameState waits until every connected node has applied the same
// index and holds the same records, and fails the test with the first
// difference if they do not converge in time.
func (c *Cluster) EnsureSameState() State {
	c.t.Helper()
	deadline := time.Now().Add(WaitTimeout)
	for {
		var (
			ref  State
			diff string
			have bool
		)
		for i, s := range c.Stores {
			if c.Partitioned(i) {
				continue
			}
			st := StateOf(s)
			if !have {
				ref, have = st, true
				continue
			}
			if d := Diff(ref, st); d != "" {
				diff = fmt.Sprintf("node%d: %s", i, d)
				break
			}
		}
		if diff == "" {
			return ref
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("states did not converge in %v: %s", WaitTimeout, diff)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Diff describes the first difference between two states, "" if none.
func Diff(a, b State) string {
	if a.Index != b.Index {
		return fmt.Sprintf("index %d != %d", a.Index, b.Index)
	}
	if len(a.Desired) != len(b.Desired) || len(a.Actuals) != len(b.Actuals) || len(a.Cells) != len(b.Cells) {
		return fmt.Sprintf("counts desired %d/%d actual %d/%d cells %d/%d",
			len(a.Desired), len(b.Desired), len(a.Actuals), len(b.Actuals), len(a.Cells), len(b.Cells))
	}
	for i := range a.Desired {
		if !reflect.DeepEqual(a.Desired[i], b.Desired[i]) {
			return fmt.Sprintf("desired %s: %+v != %+v", a.Desired[i].ProcessGUID, a.Desired[i], b.Desired[i])
		}
	}
	for i := range a.Actuals {
		if !reflect.DeepEqual(a.Actuals[i], b.Actuals[i]) {
			return fmt.Sprintf("actual %s %s: %+v != %+v", a.Actuals[i].ActualLRPKey, a.Actuals[i].Presence, a.Actuals[i], b.Actuals[i])
		}
	}
	for i := range a.Cells {
		if !reflect.DeepEqual(a.Cells[i], b.Cells[i]) {
			return fmt.Sprintf("cell %s: %+v != %+v", a.Cells[i].CellID, a.Cells[i], b.Cells[i])
		}
	}
	return ""
}
