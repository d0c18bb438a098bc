package nodetest_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/diegod/diegod/cell/celltest"
	"github.com/diegod/diegod/model"
	"github.com/diegod/diegod/node"
	"github.com/diegod/diegod/node/nodetest"
)

var waitFor = nodetest.WaitFor

// fakeLRP is an LRP for the fake runtime: it serves HTTP on a loopback
// port and is healthy at once.
func fakeLRP(guid string, instances int) model.DesiredLRP {
	return model.DesiredLRP{ProcessGUID: guid, Instances: instances, MemoryMB: 16, DiskMB: 16,
		Action: &model.Action{Run: &model.RunAction{Path: "/bin/fake"}}, Ports: []uint16{8080}}
}

// submit desires lrp through n's API.
func submit(t testing.TB, n *nodetest.Node, lrp model.DesiredLRP) {
	t.Helper()
	if _, err := n.Client.Submit(context.Background(), lrp); err != nil {
		t.Fatalf("submit %s via %s: %v", lrp.ProcessGUID, n.Name, err)
	}
}

// ordinaryRunning returns, per index of guid, the cell of its ORDINARY
// RUNNING row in n's local state.
func ordinaryRunning(n *nodetest.Node, guid string) map[int]string {
	out := map[int]string{}
	for _, a := range n.Store().View().ActualLRPsByProcess(guid) {
		if a.Presence == model.PresenceOrdinary && a.State == model.StateRunning {
			out[a.Index] = a.CellID
		}
	}
	return out
}

// waitAllRunning waits until every index of guid has an ORDINARY RUNNING
// row on a cell that is not in avoid, in n's state.
func waitAllRunning(t testing.TB, n *nodetest.Node, guid string, instances int, d time.Duration, avoid ...string) {
	t.Helper()
	waitFor(t, d, fmt.Sprintf("%d instances of %s running", instances, guid), func() bool {
		got := ordinaryRunning(n, guid)
		if len(got) != instances {
			return false
		}
		for _, cell := range got {
			for _, a := range avoid {
				if cell == a {
					return false
				}
			}
		}
		return true
	})
}

// rowsOf counts the rows of guid by presence in n's state.
func rowsOf(n *nodetest.Node, guid string) map[model.Presence]int {
	out := map[model.Presence]int{}
	for _, a := range n.Store().View().ActualLRPsByProcess(guid) {
		out[a.Presence]++
	}
	return out
}

// placedOn counts rows placed on cell in n's state.
func placedOn(n *nodetest.Node, cell string) int {
	k := 0
	for _, a := range n.Store().View().ActualLRPsByCell(cell) {
		if a.IsPlaced() {
			k++
		}
	}
	return k
}

// rowModel replays a store's event stream into rows keyed by
// (guid, index, presence) and checks invariants after every applied entry.
type rowModel struct {
	mu     sync.Mutex
	rows   map[string]model.ActualLRP
	errs   []string
	seen   map[model.Presence]int // rows ever created per presence
	checks []func(rows map[string]model.ActualLRP) string
}

func rowKey(a *model.ActualLRP) string {
	return fmt.Sprintf("%s/%d/%s", a.ProcessGUID, a.Index, a.Presence)
}

// watchRows starts a rowModel on n's store from its current state; checks
// run after each entry and record violations. It stops when ctx ends.
func watchRows(ctx context.Context, n *node.Node, checks ...func(rows map[string]model.ActualLRP) string) *rowModel {
	m := &rowModel{rows: map[string]model.ActualLRP{}, seen: map[model.Presence]int{}, checks: checks}
	ch := n.Store().Subscribe(ctx, 1<<16)
	v := n.Store().View()
	for _, a := range v.ActualLRPs() {
		m.rows[rowKey(&a)] = a
	}
	go func() {
		for batch := range ch {
			if len(batch) > 0 && batch[0].Index > v.Index() {
				m.apply(batch)
			}
		}
		if ctx.Err() == nil {
			m.mu.Lock()
			m.errs = append(m.errs, "event subscription closed early (fell behind?)")
			m.mu.Unlock()
		}
	}()
	return m
}

func (m *rowModel) apply(batch []model.Event) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := range batch {
		ev := &batch[i]
		if ev.ActualBefore != nil {
			delete(m.rows, rowKey(ev.ActualBefore))
		}
		if ev.ActualAfter != nil {
			if ev.ActualBefore == nil || ev.ActualBefore.Presence != ev.ActualAfter.Presence {
				m.seen[ev.ActualAfter.Presence]++
			}
			m.rows[rowKey(ev.ActualAfter)] = *ev.ActualAfter
		}
	}
	for _, check := range m.checks {
		if msg := check(m.rows); msg != "" && len(m.errs) < 20 {
			m.errs = append(m.errs, fmt.Sprintf("index %d: %s; entry: %s", batch[0].Index, msg, describe(batch)))
		}
	}
}

func (m *rowModel) errors() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.errs...)
}

func (m *rowModel) created(p model.Presence) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.seen[p]
}

// atMostOneOrdinaryRunning: no index ever has two ORDINARY RUNNING rows,
// and no instance guid runs as the ORDINARY row of two indices.
func atMostOneOrdinaryRunning(rows map[string]model.ActualLRP) string {
	byIndex := map[string]int{}
	byInstance := map[string]string{}
	for _, a := range rows {
		if a.Presence != model.PresenceOrdinary || a.State != model.StateRunning {
			continue
		}
		k := fmt.Sprintf("%s/%d", a.ProcessGUID, a.Index)
		byIndex[k]++
		if byIndex[k] > 1 {
			return k + " has two ORDINARY RUNNING rows"
		}
		if other, ok := byInstance[a.InstanceGUID]; ok {
			return fmt.Sprintf("instance %s is ORDINARY RUNNING for %s and %s", a.InstanceGUID, other, k)
		}
		byInstance[a.InstanceGUID] = k
	}
	return ""
}

// alwaysServed returns a check that every index in [0,instances) of guid
// has a RUNNING row (any presence) on a cell other than dead.
func alwaysServed(guid string, instances int, dead ...string) func(rows map[string]model.ActualLRP) string {
	return func(rows map[string]model.ActualLRP) string {
		served := map[int]bool{}
		for _, a := range rows {
			if a.ProcessGUID != guid || a.State != model.StateRunning {
				continue
			}
			ok := true
			for _, d := range dead {
				if a.CellID == d {
					ok = false
				}
			}
			if ok {
				served[a.Index] = true
			}
		}
		for i := 0; i < instances; i++ {
			if !served[i] {
				return fmt.Sprintf("%s/%d has no RUNNING copy", guid, i)
			}
		}
		return ""
	}
}

// fakeLen counts the containers n's fake runtime holds.
func fakeLen(n *nodetest.Node) int { return n.Runtime().(*celltest.FakeRuntime).Len() }

// describe summarises the actual-row events of an entry.
func describe(batch []model.Event) string {
	var out []string
	row := func(a *model.ActualLRP) string {
		if a == nil {
			return "-"
		}
		return fmt.Sprintf("%s/%d %s %s@%s", a.ProcessGUID, a.Index, a.Presence, a.State, a.CellID)
	}
	for _, e := range batch {
		if e.ActualBefore != nil || e.ActualAfter != nil {
			out = append(out, fmt.Sprintf("%s(%s -> %s)", e.Type, row(e.ActualBefore), row(e.ActualAfter)))
		}
	}
	return strings.Join(out, ", ")
}
