package nodetest_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/diegod/diegod/model"
	"github.com/diegod/diegod/node/nodetest"
)

// TestCellLossReplacesInstances: 30 instances on 3 cells; a non-leader is
// hard-stopped; its instances become SUSPECT and replacements run
// elsewhere; no index ever has two ORDINARY RUNNING rows; when the node
// comes back, the suspects are retired and nothing runs twice.
func TestCellLossReplacesInstances(t *testing.T) {
	c := nodetest.NewCluster(t, nodetest.Options{Nodes: 3})
	leader := c.WaitLeader(t)
	submit(t, c.Nodes[1], fakeLRP("web", 30))
	waitAllRunning(t, leader, "web", 30, 30*time.Second)

	victim := -1
	for i, n := range c.Nodes {
		if n != leader && placedOn(leader, n.Name) > 0 {
			victim = i
			break
		}
	}
	if victim < 0 {
		t.Fatal("no non-leader cell holds instances")
	}
	name := c.Nodes[victim].Name
	lost := placedOn(leader, name)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	watch := watchRows(ctx, leader.Node, atMostOneOrdinaryRunning)

	start := time.Now()
	c.Kill(t, victim)
	waitFor(t, 10*time.Second, name+" dead in gossip", func() bool {
		for _, m := range leader.Members() {
			if m.Node == name {
				return m.Gossip == "dead"
			}
		}
		return false
	})
	t.Logf("%s dead in gossip after %v", name, time.Since(start))
	waitFor(t, 10*time.Second, "cell "+name+" LOST", func() bool {
		cl, ok := leader.Store().View().Cell(name)
		return ok && cl.State == model.CellLost
	})
	t.Logf("%s LOST after %v", name, time.Since(start))
	waitAllRunning(t, leader, "web", 30, 10*time.Second, name)
	t.Logf("%d instances of %s running elsewhere %v after the kill", lost, name, time.Since(start))
	if got := watch.created(model.PresenceSuspect); got != lost {
		t.Errorf("SUSPECT rows created: got %d, want %d (one per lost instance)", got, lost)
	}

	c.Restart(t, victim)
	waitFor(t, 15*time.Second, "suspects retired", func() bool {
		cl, ok := leader.Store().View().Cell(name)
		return ok && cl.State == model.CellAlive && rowsOf(leader, "web")[model.PresenceSuspect] == 0
	})
	waitAllRunning(t, leader, "web", 30, 10*time.Second)
	for _, e := range watch.errors() {
		t.Error(e)
	}
}

// TestLeaderKillDuringSubmits: a stream of submits through the followers;
// the leader is hard-stopped in the middle; a new leader is elected and
// every submit that was acknowledged is in the state afterwards.
func TestLeaderKillDuringSubmits(t *testing.T) {
	c := nodetest.NewCluster(t, nodetest.Options{Nodes: 3})
	leader := c.WaitLeader(t)
	li := -1
	var followers []*nodetest.Node
	for i, n := range c.Nodes {
		if n == leader {
			li = i
		} else {
			followers = append(followers, n)
		}
	}
	var (
		mu    sync.Mutex
		acked []string
		seq   atomic.Int64
		after atomic.Int64 // acks after the kill
		kill  atomic.Bool
	)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				guid := fmt.Sprintf("app-%d", seq.Add(1))
				n := followers[int(seq.Load())%len(followers)]
				sctx, scancel := context.WithTimeout(ctx, 5*time.Second)
				_, err := n.Client.Submit(sctx, fakeLRP(guid, 0))
				scancel()
				if err == nil {
					mu.Lock()
					acked = append(acked, guid)
					mu.Unlock()
					if kill.Load() {
						after.Add(1)
					}
				}
			}
		}()
	}
	waitFor(t, 10*time.Second, "20 acknowledged submits", func() bool { mu.Lock(); defer mu.Unlock(); return len(acked) >= 20 })
	start := time.Now()
	kill.Store(true)
	c.Kill(t, li)
	waitFor(t, 15*time.Second, "acknowledged submits after the kill", func() bool { return after.Load() >= 20 })
	t.Logf("writes acknowledged again %v after the leader was killed", time.Since(start))
	cancel()
	wg.Wait()

	newLeader := c.WaitLeader(t)
	if newLeader.Name == leader.Name {
		t.Fatalf("leader did not change")
	}
	if err := newLeader.Store().Barrier(context.Background()); err != nil {
		t.Fatal(err)
	}
	v := newLeader.Store().View()
	mu.Lock()
	defer mu.Unlock()
	missing := 0
	for _, guid := range acked {
		if _, ok := v.DesiredLRP(guid); !ok {
			missing++
			if missing < 5 {
				t.Errorf("acknowledged submit %s is missing", guid)
			}
		}
	}
	if missing > 0 {
		t.Errorf("%d of %d acknowledged submits missing", missing, len(acked))
	}
	// The old leader comes back as a follower and catches up.
	c.Restart(t, li)
	c.WaitStable(t)
	if got := c.WaitLeader(t); got.Name == leader.Name {
		t.Logf("note: %s leads again", got.Name)
	}
}

// TestPartitionLeaderAndHeal: the leader is cut off; the others elect a
// new leader and replace its instances; after healing there is one
// leader and desired == running, with no suspect left.
func TestPartitionLeaderAndHeal(t *testing.T) {
	c := nodetest.NewCluster(t, nodetest.Options{Nodes: 3})
	old := c.WaitLeader(t)
	submit(t, c.Nodes[1], fakeLRP("web", 12))
	waitAllRunning(t, old, "web", 12, 30*time.Second)

	c.Net.Partition(old.Name)
	waitFor(t, 5*time.Second, "the partitioned leader steps down", func() bool { return !old.Store().IsLeader() })
	var leader *nodetest.Node
	waitFor(t, 10*time.Second, "a new leader", func() bool {
		for _, n := range c.Running() {
			if n != old && n.Store().IsLeader() {
				leader = n
				return true
			}
		}
		return false
	})
	waitAllRunning(t, leader, "web", 12, 15*time.Second, old.Name)

	c.Net.Heal(old.Name)
	got := c.WaitLeader(t)
	c.WaitStable(t)
	waitFor(t, 20*time.Second, "desired == running, no suspects, every node agrees", func() bool {
		for _, n := range c.Running() {
			if len(ordinaryRunning(n, "web")) != 12 || rowsOf(n, "web")[model.PresenceSuspect] != 0 ||
				rowsOf(n, "web")[model.PresenceOrdinary] != 12 {
				return false
			}
		}
		return true
	})
	// Every container the fake runtimes run is named by a row: nothing
	// runs twice after the heal.
	waitFor(t, 20*time.Second, "12 containers in the cluster", func() bool {
		total := 0
		for _, n := range c.Running() {
			total += fakeLen(n)
		}
		return total == 12
	})
	t.Logf("leader after heal: %s (was %s)", got.Name, old.Name)
}
