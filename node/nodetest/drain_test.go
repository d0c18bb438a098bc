package nodetest_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/diegod/diegod/model"
	"github.com/diegod/diegod/node"
	"github.com/diegod/diegod/node/nodetest"
)

// TestDrainMovesInstancesMakeBeforeBreak: `diegod drain` on a node moves
// its instances to the other cells; at every applied entry each index has
// a RUNNING copy (the EVACUATING one until its replacement runs).
func TestDrainMovesInstancesMakeBeforeBreak(t *testing.T) {
	c := nodetest.NewCluster(t, nodetest.Options{Nodes: 3})
	leader := c.WaitLeader(t)
	submit(t, c.Nodes[0], fakeLRP("web", 12))
	waitAllRunning(t, leader, "web", 12, 30*time.Second)
	target := c.Nodes[2]
	had := placedOn(leader, target.Name)
	if had == 0 {
		t.Fatalf("%s holds no instance", target.Name)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	watch := watchRows(ctx, leader.Node, atMostOneOrdinaryRunning, alwaysServed("web", 12))

	if _, err := c.Nodes[1].Client.Drain(ctx, target.Name, false); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, target.Name+" empty", func() bool { return placedOn(leader, target.Name) == 0 })
	waitAllRunning(t, leader, "web", 12, 10*time.Second, target.Name)
	waitFor(t, 10*time.Second, target.Name+" stops its containers", func() bool { return fakeLen(target) == 0 })
	if got := watch.created(model.PresenceEvacuating); got != had {
		t.Errorf("EVACUATING copies: got %d, want %d", got, had)
	}
	for _, e := range watch.errors() {
		t.Error(e)
	}
	// Cancelling the drain makes the cell schedulable again.
	if _, err := c.Nodes[1].Client.Drain(ctx, target.Name, true); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, target.Name+" ALIVE", func() bool {
		cl, _ := leader.Store().View().Cell(target.Name)
		return cl.State == model.CellAlive
	})
}

// TestGracefulLeaveOfLeader: SIGTERM on the leader hands leadership over,
// evacuates its instances make-before-break and says goodbye in gossip.
func TestGracefulLeaveOfLeader(t *testing.T) {
	c := nodetest.NewCluster(t, nodetest.Options{Nodes: 3})
	leader := c.WaitLeader(t)
	submit(t, c.Nodes[1], fakeLRP("web", 9))
	waitAllRunning(t, leader, "web", 9, 30*time.Second)
	li := 0
	for i, n := range c.Nodes {
		if n == leader {
			li = i
		}
	}
	var observer *nodetest.Node
	for _, n := range c.Nodes {
		if n != leader {
			observer = n
		}
	}
	waitAllRunning(t, observer, "web", 9, 10*time.Second)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	watch := watchRows(ctx, observer.Node, atMostOneOrdinaryRunning, alwaysServed("web", 9))
	name := leader.Name
	c.Leave(t, li)

	next := c.WaitLeader(t)
	if next.Name == name {
		t.Fatalf("%s still leads", name)
	}
	if n := placedOn(next, name); n != 0 {
		t.Errorf("%d instances still placed on %s after its leave", n, name)
	}
	waitAllRunning(t, next, "web", 9, 10*time.Second, name)
	waitFor(t, 5*time.Second, name+" left in gossip", func() bool {
		for _, m := range next.Members() {
			if m.Node == name {
				return m.Gossip == "left"
			}
		}
		return false
	})
	for _, e := range watch.errors() {
		t.Error(e)
	}
}

// TestSnapshotSaveRestore: a saved snapshot brings back a deleted LRP on
// every node.
func TestSnapshotSaveRestore(t *testing.T) {
	c := nodetest.NewCluster(t, nodetest.Options{Nodes: 3})
	leader := c.WaitLeader(t)
	ctx := context.Background()
	submit(t, c.Nodes[1], fakeLRP("keep", 2))
	waitAllRunning(t, leader, "keep", 2, 30*time.Second)
	var snap bytes.Buffer
	if err := c.Nodes[2].Client.SaveSnapshot(ctx, &snap); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Nodes[1].Client.Delete(ctx, "keep"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "keep deleted", func() bool { _, ok := leader.Store().View().DesiredLRP("keep"); return !ok })
	if err := c.Nodes[2].Client.RestoreSnapshot(ctx, bytes.NewReader([]byte("not a snapshot\n"))); err == nil {
		t.Error("restore of garbage succeeded")
	}
	if err := c.Nodes[2].Client.RestoreSnapshot(ctx, bytes.NewReader(snap.Bytes())); err != nil {
		t.Fatalf("restore: %v", err)
	}
	for _, n := range c.Running() {
		waitFor(t, 10*time.Second, "keep restored on "+n.Name, func() bool { _, ok := n.Store().View().DesiredLRP("keep"); return ok })
	}
	waitAllRunning(t, leader, "keep", 2, 15*time.Second)
	// Writes still work after the restore.
	submit(t, c.Nodes[0], fakeLRP("after", 1))
	waitAllRunning(t, leader, "after", 1, 15*time.Second)
}

// TestFiveNodesVoterCapAndDeadServerRemoval: with MaxVoters 3, five nodes
// form 3 voters and 2 non-voters; a dead voter is removed after the dead
// server timeout (the quorum allows it) and a non-voter is promoted.
// `members remove` refuses a live member.
func TestFiveNodesVoterCapAndDeadServerRemoval(t *testing.T) {
	c := nodetest.NewCluster(t, nodetest.Options{Nodes: 5, Configure: func(i int, cfg *node.Config) {
		cfg.MaxVoters = 3
		cfg.DeadServerTimeout = 2 * time.Second
	}})
	leader := c.WaitLeader(t)
	roles := func() map[string]string {
		out := map[string]string{}
		for _, m := range leader.Members() {
			out[m.Node] = m.Raft
		}
		return out
	}
	count := func(r map[string]string, role string) int {
		k := 0
		for _, v := range r {
			if v == role {
				k++
			}
		}
		return k
	}
	if r := roles(); count(r, "leader")+count(r, "voter") != 3 || count(r, "nonvoter") != 2 {
		t.Fatalf("roles: %v, want 3 voters and 2 non-voters", r)
	}
	if err := leader.Client.RemoveMember(context.Background(), c.Nodes[4].Name); model.CodeOf(err) != model.CodeInvalidTransition {
		t.Errorf("remove a live member: got %v, want invalid_transition", err)
	}
	var voter int
	for i, n := range c.Nodes {
		if roles()[n.Name] == "voter" {
			voter = i
		}
	}
	name := c.Nodes[voter].Name
	c.Kill(t, voter)
	waitFor(t, 20*time.Second, name+" removed and a non-voter promoted", func() bool {
		r := roles()
		return r[name] == "none" && count(r, "leader")+count(r, "voter") == 3 && count(r, "nonvoter") == 1
	})
}
