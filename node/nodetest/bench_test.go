package nodetest_test

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/diegod/diegod/model"
	"github.com/diegod/diegod/node/nodetest"
)

// Cluster benchmarks. Each iteration is one failure; run with
// -benchtime 10x for the medians of 10 quoted in docs/benchmarks.md:
//
//	go test -run '^$' -bench . -benchtime 10x ./node/nodetest/

func reportDurations(b *testing.B, unit string, ds []time.Duration) {
	b.Helper()
	if len(ds) == 0 {
		return
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	b.ReportMetric(float64(ds[len(ds)/2].Milliseconds()), "ms-median/"+unit)
	b.ReportMetric(float64(ds[len(ds)-1].Milliseconds()), "ms-max/"+unit)
	b.ReportMetric(float64(ds[0].Milliseconds()), "ms-min/"+unit)
	b.ReportMetric(0, "ns/op")
}

func indexOf(c *nodetest.Cluster, n *nodetest.Node) int {
	for i, m := range c.Nodes {
		if m == n {
			return i
		}
	}
	return -1
}

// BenchmarkLeaderFailover: the leader is hard-killed; the time until a
// write sent to a surviving node is acknowledged (election + forwarding).
func BenchmarkLeaderFailover(b *testing.B) {
	c := nodetest.NewCluster(b, nodetest.Options{Nodes: 3})
	var ds []time.Duration
	seq := 0
	for i := 0; i < b.N; i++ {
		leader := c.WaitLeader(b)
		li := indexOf(c, leader)
		var survivors []*nodetest.Node
		for _, n := range c.Running() {
			if n != leader {
				survivors = append(survivors, n)
			}
		}
		c.Kill(b, li)
		start := time.Now()
		for k := 0; ; k++ {
			seq++
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			_, err := survivors[k%len(survivors)].Client.Submit(ctx, fakeLRP(fmt.Sprintf("w-%d", seq), 0))
			cancel()
			if err == nil {
				break
			}
			if time.Since(start) > 30*time.Second {
				b.Fatalf("no write acknowledged 30 s after the leader was killed: %v", err)
			}
		}
		ds = append(ds, time.Since(start))
		c.Restart(b, li)
		c.WaitStable(b)
	}
	reportDurations(b, "failover", ds)
}

// BenchmarkCellLossRecovery: a non-leader cell holding ~10 of 30
// instances is hard-killed; the time until all 30 have an ORDINARY RUNNING
// row on the other cells (gossip detection + lost grace + auction +
// replacement start and health check).
func BenchmarkCellLossRecovery(b *testing.B) {
	c := nodetest.NewCluster(b, nodetest.Options{Nodes: 3})
	leader := c.WaitLeader(b)
	submit(b, c.Nodes[0], fakeLRP("web", 30))
	waitAllRunning(b, leader, "web", 30, 30*time.Second)
	var ds []time.Duration
	for i := 0; i < b.N; i++ {
		leader = c.WaitLeader(b)
		victim := -1
		for j, n := range c.Nodes {
			if n != leader && placedOn(leader, n.Name) > 0 {
				victim = j
			}
		}
		if victim < 0 {
			b.Fatal("no non-leader cell holds instances")
		}
		name := c.Nodes[victim].Name
		c.Kill(b, victim)
		start := time.Now()
		for {
			got := ordinaryRunning(leader, "web")
			moved := len(got) == 30
			for _, cell := range got {
				if cell == name {
					moved = false
				}
			}
			if moved {
				break
			}
			if time.Since(start) > 30*time.Second {
				b.Fatalf("instances of %s not replaced after 30 s", name)
			}
			time.Sleep(2 * time.Millisecond)
		}
		ds = append(ds, time.Since(start))
		c.Restart(b, victim)
		c.WaitStable(b)
		waitFor(b, 30*time.Second, "suspects retired", func() bool {
			return rowsOf(leader, "web")[model.PresenceSuspect] == 0 && len(ordinaryRunning(leader, "web")) == 30
		})
		// Spread the instances again, so the next victim holds some.
		if _, err := c.Nodes[victim].Client.Drain(context.Background(), c.Nodes[(victim+1)%3].Name, false); err == nil {
			waitFor(b, 30*time.Second, "rebalance", func() bool { return placedOn(leader, c.Nodes[(victim+1)%3].Name) == 0 })
			_, _ = c.Nodes[victim].Client.Drain(context.Background(), c.Nodes[(victim+1)%3].Name, true)
		}
	}
	reportDurations(b, "cell-loss", ds)
}

// BenchmarkReplicatedWrites: commands committed per second on a 3-node
// cluster with 64 concurrent writers (group commit shares log entries).
// "leader" proposes on the leader's store; "api-follower" submits through
// the HTTPS API of the followers, which forward to the leader.
func BenchmarkReplicatedWrites(b *testing.B) {
	c := nodetest.NewCluster(b, nodetest.Options{Nodes: 3})
	leader := c.WaitLeader(b)
	var followers []*nodetest.Node
	for _, n := range c.Nodes {
		if n != leader {
			followers = append(followers, n)
		}
	}
	var seq atomic.Int64
	run := func(b *testing.B, write func(guid string) error) {
		const writers = 64
		var next atomic.Int64
		var wg sync.WaitGroup
		var failed atomic.Int64
		b.ResetTimer()
		start := time.Now()
		for w := 0; w < writers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for next.Add(1) <= int64(b.N) {
					if err := write(fmt.Sprintf("t-%d", seq.Add(1))); err != nil {
						failed.Add(1)
					}
				}
			}()
		}
		wg.Wait()
		el := time.Since(start)
		b.StopTimer()
		if failed.Load() > 0 {
			b.Fatalf("%d writes failed", failed.Load())
		}
		b.ReportMetric(float64(b.N)/el.Seconds(), "writes/s")
	}
	b.Run("leader", func(b *testing.B) {
		run(b, func(guid string) error {
			_, err := leader.Store().Propose(context.Background(), model.DesireLRP{LRP: fakeLRP(guid, 0)})
			return err
		})
	})
	b.Run("api-follower", func(b *testing.B) {
		var k atomic.Int64
		run(b, func(guid string) error {
			_, err := followers[k.Add(1)%int64(len(followers))].Client.Submit(context.Background(), fakeLRP(guid, 0))
			return err
		})
	})
}
