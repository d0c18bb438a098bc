package raftstore_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/diegod/diegod/model"
	"github.com/diegod/diegod/raftstore"
	"github.com/diegod/diegod/raftstore/raftstoretest"
)

func testLRP(guid string, instances int) model.DesiredLRP {
	return model.DesiredLRP{
		ProcessGUID: guid,
		Instances:   instances,
		MemoryMB:    64,
		DiskMB:      64,
		Action:      &model.Action{Run: &model.RunAction{Path: "/bin/true"}},
	}
}

func mustPropose(t *testing.T, s *raftstore.Store, cmds ...model.Command) uint64 {
	t.Helper()
	var idx uint64
	for _, c := range cmds {
		ctx, cancel := context.WithTimeout(context.Background(), raftstoretest.WaitTimeout)
		i, err := s.Propose(ctx, c)
		cancel()
		if err != nil {
			t.Fatalf("propose %s: %v", c.CommandName(), err)
		}
		idx = i
	}
	return idx
}

func TestClusterReplicates(t *testing.T) {
	c := raftstoretest.NewCluster(t, 3)
	l := c.WaitLeader()
	leader := c.Stores[l]
	cellRec := model.Cell{CellID: "c1", Zone: "z", Capacity: model.Resources{MemoryMB: 1024, DiskMB: 1024, Containers: 10}}
	mustPropose(t, leader, model.UpsertCell{Cell: cellRec}, model.DesireLRP{LRP: testLRP("app", 3)})
	mustPropose(t, leader, model.ClaimBatch{Placements: []model.Placement{{
		Key:         model.ActualLRPKey{ProcessGUID: "app", Index: 0},
		InstanceKey: model.ActualLRPInstanceKey{InstanceGUID: "i0", CellID: "c1"},
	}}})
	st := c.EnsureSameState()
	if len(st.Desired) != 1 || len(st.Actuals) != 3 || len(st.Cells) != 1 {
		t.Fatalf("replicated state: %d desired, %d actuals, %d cells", len(st.Desired), len(st.Actuals), len(st.Cells))
	}
	if st.Actuals[0].State != model.StateClaimed {
		t.Errorf("row 0: %s", st.Actuals[0].State)
	}

	// A follower refuses writes and names the leader.
	f := c.Follower()
	_, err := c.Stores[f].Propose(t.Context(), model.RemoveCell{CellID: "c1"})
	if !errors.Is(err, model.ErrNotLeader) {
		t.Fatalf("follower propose: got %v, want not leader", err)
	}
	if want := string(c.Addrs[l]); !strings.Contains(err.Error(), want) {
		t.Errorf("not-leader message %q does not name the leader %s", err.Error(), want)
	}
	// A follower's subscribers see the leader's writes.
	sub := c.Stores[f].Subscribe(t.Context(), 10)
	mustPropose(t, leader, model.SetCellState{CellID: "c1", State: model.CellDraining})
	select {
	case ev := <-sub:
		if len(ev) != 1 || ev[0].Type != model.EventCellChanged || ev[0].CellAfter.State != model.CellDraining {
			t.Errorf("follower events: %+v", ev)
		}
	case <-time.After(raftstoretest.WaitTimeout):
		t.Fatal("follower got no events")
	}
}

func TestClusterPartitionedLeaderIsReplaced(t *testing.T) {
	c := raftstoretest.NewCluster(t, 3)
	old := c.WaitLeader()
	mustPropose(t, c.Stores[old], model.DesireLRP{LRP: testLRP("before", 1)})
	c.EnsureSameState()

	c.Partition(old)
	l := c.WaitLeader()
	if l == old {
		t.Fatalf("partitioned node %d still leads", old)
	}
	mustPropose(t, c.Stores[l], model.DesireLRP{LRP: testLRP("after", 2)})
	// The cut-off old leader cannot commit.
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	if _, err := c.Stores[old].Propose(ctx, model.DesireLRP{LRP: testLRP("lost", 1)}); err == nil {
		t.Error("partitioned old leader committed a proposal")
	}

	c.Heal()
	st := c.EnsureSameState()
	var guids []string
	for _, d := range st.Desired {
		guids = append(guids, d.ProcessGUID)
	}
	if strings.Join(guids, ",") != "after,before" {
		t.Errorf("desired after heal: %v", guids)
	}
}
