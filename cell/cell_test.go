package cell_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/diegod/diegod/cell"
	"github.com/diegod/diegod/cell/celltest"
	"github.com/diegod/diegod/model"
	"github.com/rs/zerolog"
)

const cellID = "cell-a"

func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

type harness struct {
	rt     *celltest.FakeRuntime
	src    *celltest.FakeSource
	rep    *celltest.FakeReporter
	cell   *cell.Cell
	cancel context.CancelFunc
	done   chan error
}

func testConfig() cell.Config {
	cfg := cell.DefaultConfig()
	cfg.CellID = cellID
	cfg.Zone = "z1"
	cfg.Capacity = model.Resources{MemoryMB: 4096, DiskMB: 8192, Containers: 250}
	cfg.StopGrace = 5 * time.Second
	cfg.StartupInterval = 5 * time.Millisecond
	cfg.MetricsInterval = 10 * time.Millisecond
	cfg.ReportRetryMax = 20 * time.Millisecond
	return cfg
}

// newHarness builds a cell on fakes; setup (optional) runs before Run.
func newHarness(t *testing.T, mutate func(*cell.Config), setup func(*harness)) *harness {
	t.Helper()
	cfg := testConfig()
	if mutate != nil {
		mutate(&cfg)
	}
	h := &harness{rt: celltest.NewFakeRuntime(), src: celltest.NewFakeSource(), rep: celltest.NewFakeReporter(), done: make(chan error, 1)}
	c, err := cell.New(cfg, h.rt, h.src, h.rep, zerolog.New(io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	h.cell = c
	if setup != nil {
		setup(h)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go func() { h.done <- c.Run(ctx) }()
	t.Cleanup(h.stop)
	return h
}

func (h *harness) stop() {
	h.cancel()
	if err := <-h.done; err != nil {
		panic(fmt.Sprintf("cell run: %v", err))
	}
	h.done <- nil // let a second stop return
}

func lrp(guid string, env map[string]string, hc *model.HealthCheck) model.DesiredLRP {
	d := model.DesiredLRP{
		ProcessGUID: guid,
		Instances:   1,
		MemoryMB:    64,
		DiskMB:      128,
		Ports:       []uint16{8080},
		Action:      &model.Action{Run: &model.RunAction{Path: "/bin/app", Env: env}},
		HealthCheck: hc,
	}
	d.Normalize()
	return d
}

func claimed(guid string, index int, inst string) model.ActualLRP {
	return model.ActualLRP{
		ActualLRPKey:         model.ActualLRPKey{ProcessGUID: guid, Index: index, Domain: "default"},
		ActualLRPInstanceKey: model.ActualLRPInstanceKey{InstanceGUID: inst, CellID: cellID},
		State:                model.StateClaimed,
		Presence:             model.PresenceOrdinary,
	}
}

func starts(h *harness) []model.StartActualLRP {
	return celltest.CommandsOf[model.StartActualLRP](h.rep)
}
func crashes(h *harness) []model.CrashActualLRP {
	return celltest.CommandsOf[model.CrashActualLRP](h.rep)
}

func waitCrash(t *testing.T, h *harness) model.CrashActualLRP {
	t.Helper()
	waitFor(t, 10*time.Second, "a crash report", func() bool { return len(crashes(h)) > 0 })
	return crashes(h)[0]
}

func TestCellRegisters(t *testing.T) {
	h := newHarness(t, nil, nil)
	waitFor(t, 5*time.Second, "registration", func() bool { return len(celltest.CommandsOf[model.UpsertCell](h.rep)) == 1 })
	got := celltest.CommandsOf[model.UpsertCell](h.rep)[0].Cell
	if got.CellID != cellID || got.Zone != "z1" || got.State != model.CellAlive || got.Capacity.MemoryMB != 4096 ||
		len(got.RootFSProviders) != 1 || got.RootFSProviders[0] != "host" {
		t.Fatalf("registered cell: %+v", got)
	}
	if _, ok := h.rep.Commands()[0].(model.UpsertCell); !ok {
		t.Fatalf("first command: got %T, want UpsertCell", h.rep.Commands()[0])
	}
}

func TestCellStartsClaimedInstance(t *testing.T) {
	h := newHarness(t, nil, nil)
	h.src.Set([]model.ActualLRP{claimed("web", 0, "inst-0")}, lrp("web", nil, nil))
	waitFor(t, 10*time.Second, "start report", func() bool { return len(starts(h)) == 1 })
	s := starts(h)[0]
	info, ok := h.rt.Container("inst-0")
	if !ok {
		t.Fatal("no container for inst-0")
	}
	if s.Key.ProcessGUID != "web" || s.Key.Index != 0 || s.InstanceKey != (model.ActualLRPInstanceKey{InstanceGUID: "inst-0", CellID: cellID}) {
		t.Fatalf("start: %+v", s)
	}
	if s.NetInfo.Address != "127.0.0.1" || s.NetInfo.InstanceAddress != "127.0.0.1" || len(s.NetInfo.Ports) != 1 ||
		s.NetInfo.Ports[0] != info.NetInfo.Ports[0] || s.NetInfo.Ports[0].ContainerPort != 8080 {
		t.Fatalf("net info: got %+v, want %+v", s.NetInfo, info.NetInfo)
	}
	if info.Labels[cell.LabelProcessGUID] != "web" || info.Labels[cell.LabelIndex] != "0" ||
		info.Labels[cell.LabelInstanceGUID] != "inst-0" || info.Labels[cell.LabelKind] != "lrp" {
		t.Fatalf("labels: %v", info.Labels)
	}
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/", s.NetInfo.Ports[0].HostPort))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `"instance_guid":"inst-0"`) {
		t.Fatalf("instance answered %q", body)
	}
	if len(crashes(h)) != 0 {
		t.Fatalf("unexpected crash: %+v", crashes(h))
	}
}

func TestCellReportsExitAsCrash(t *testing.T) {
	h := newHarness(t, nil, nil)
	env := map[string]string{celltest.EnvExitAfter: "50ms", celltest.EnvExitCode: "1"}
	h.src.Set([]model.ActualLRP{claimed("web", 0, "inst-0")}, lrp("web", env, nil))
	c := waitCrash(t, h)
	if c.Reason != "APP/PROC/WEB: Exited with status 1" {
		t.Fatalf("reason: got %q", c.Reason)
	}
	if c.Key.ProcessGUID != "web" || c.InstanceKey.InstanceGUID != "inst-0" || c.InstanceKey.CellID != cellID {
		t.Fatalf("crash: %+v", c)
	}
	waitFor(t, 5*time.Second, "container destroyed", func() bool { return h.rt.Len() == 0 })

	// A stale view still showing the claim must not start it again.
	calls := h.src.Calls()
	h.src.Update(func(rows []model.ActualLRP) []model.ActualLRP { return rows })
	waitFor(t, 5*time.Second, "the stale view served", func() bool { return h.src.Calls() > calls })
	h.src.Update(func(rows []model.ActualLRP) []model.ActualLRP { return rows })
	waitFor(t, 5*time.Second, "a second view served", func() bool { return h.src.Calls() > calls+1 })
	if got := h.rt.Creates(); got != 1 {
		t.Fatalf("creates: got %d, want 1 (no restart from a stale view)", got)
	}
}

func TestCellExitZeroWithoutHealthCheck(t *testing.T) {
	h := newHarness(t, nil, nil)
	env := map[string]string{celltest.EnvExitAfter: "10ms"}
	h.src.Set([]model.ActualLRP{claimed("job", 0, "i")}, lrp("job", env, &model.HealthCheck{Type: model.HealthCheckNone}))
	if got := waitCrash(t, h).Reason; got != "APP/PROC/WEB: Exited with status 0" {
		t.Fatalf("reason: got %q", got)
	}
	if len(starts(h)) != 1 {
		t.Fatalf("health check none: got %d start reports, want 1 (at once)", len(starts(h)))
	}
}

func TestCellStopsRemovedInstance(t *testing.T) {
	h := newHarness(t, nil, nil)
	h.src.Set([]model.ActualLRP{claimed("web", 0, "inst-0")}, lrp("web", nil, nil))
	waitFor(t, 10*time.Second, "start report", func() bool { return len(starts(h)) == 1 })
	n := len(h.rep.Commands())
	h.src.Set(nil)
	waitFor(t, 10*time.Second, "container destroyed", func() bool { return h.rt.Destroys() == 1 })
	if h.rt.Len() != 0 {
		t.Fatalf("containers left: %d", h.rt.Len())
	}
	waitFor(t, 5*time.Second, "destroy logged", func() bool { return hasLine(h, "web", "destroying container for instance inst-0") })
	if got := len(h.rep.Commands()); got != n {
		t.Fatalf("commands after stop: got %v, want none reported", h.rep.Commands()[n:])
	}
	for _, want := range []string{"Cell cell-a stopping instance inst-0", "Exit status 143"} {
		if !hasLine(h, "web", want) {
			t.Fatalf("no log line %q in %v", want, texts(h.cell.Logs().Recent("web")))
		}
	}
}

func TestCellInstanceMovedToAnotherInstanceKey(t *testing.T) {
	h := newHarness(t, nil, nil)
	d := lrp("web", nil, nil)
	h.src.Set([]model.ActualLRP{claimed("web", 0, "old")}, d)
	waitFor(t, 10*time.Second, "old start", func() bool { return len(starts(h)) == 1 })
	h.src.Set([]model.ActualLRP{claimed("web", 0, "new")})
	waitFor(t, 10*time.Second, "new start and old destroyed", func() bool {
		_, oldThere := h.rt.Container("old")
		return len(starts(h)) == 2 && !oldThere
	})
	if got := starts(h)[1].InstanceKey.InstanceGUID; got != "new" {
		t.Fatalf("second start: got %q, want new", got)
	}
}

func TestCellBecomesUnhealthy(t *testing.T) {
	h := newHarness(t, func(c *cell.Config) { c.LivenessInterval = 10 * time.Millisecond }, nil)
	env := map[string]string{celltest.EnvUnhealthyAfter: "300ms"}
	h.src.Set([]model.ActualLRP{claimed("web", 0, "i")}, lrp("web", env, nil))
	c := waitCrash(t, h)
	// The listener closes; a probe gets "connection refused" (or, racing
	// the close, "connection reset by peer").
	want := "Instance became unhealthy: Failed to make TCP connection to port 8080: connection re"
	if !strings.HasPrefix(c.Reason, want) {
		t.Fatalf("reason: got %q, want %q...", c.Reason, want)
	}
	if len(starts(h)) != 1 {
		t.Fatalf("start reports before the crash: got %d, want 1", len(starts(h)))
	}
	if !hasLine(h, "web", c.Reason) {
		t.Fatalf("no HEALTH line %q", c.Reason)
	}
}

func TestCellHTTPHealthCheckUnhealthy(t *testing.T) {
	h := newHarness(t, func(c *cell.Config) { c.LivenessInterval = 10 * time.Millisecond }, nil)
	env := map[string]string{celltest.EnvUnhealthyAfter: "300ms"}
	h.src.Set([]model.ActualLRP{claimed("web", 0, "i")}, lrp("web", env, &model.HealthCheck{Type: model.HealthCheckHTTP, Path: "/healthz"}))
	got := waitCrash(t, h).Reason
	if !strings.HasPrefix(got, "Instance became unhealthy: Failed to make HTTP request to '/healthz' on port 8080") {
		t.Fatalf("reason: got %q", got)
	}
}

func TestCellExecHealthCheck(t *testing.T) {
	h := newHarness(t, func(c *cell.Config) { c.LivenessInterval = 10 * time.Millisecond }, nil)
	env := map[string]string{celltest.EnvUnhealthyAfter: "300ms"}
	h.src.Set([]model.ActualLRP{claimed("web", 0, "i")}, lrp("web", env, &model.HealthCheck{Type: model.HealthCheckExec, Command: []string{"/bin/check"}}))
	got := waitCrash(t, h).Reason
	if !strings.HasPrefix(got, "Instance became unhealthy: Health check command /bin/check exited with status 1") {
		t.Fatalf("reason: got %q", got)
	}
	if len(starts(h)) != 1 {
		t.Fatalf("start reports: got %d, want 1", len(starts(h)))
	}
}

func TestCellNeverHealthy(t *testing.T) {
	h := newHarness(t, nil, nil)
	d := lrp("web", map[string]string{celltest.EnvStartDelay: "1h"}, nil)
	d.StartTimeoutMS = 100
	h.src.Set([]model.ActualLRP{claimed("web", 0, "i")}, d)
	c := waitCrash(t, h)
	want := "Instance never healthy after 100ms: Failed to make TCP connection to port 8080: connection refused"
	if c.Reason != want {
		t.Fatalf("reason: got %q, want %q", c.Reason, want)
	}
	if len(starts(h)) != 0 {
		t.Fatalf("start reports: got %d, want 0", len(starts(h)))
	}
}

func TestCellUnclaimsRunningRowWithoutContainer(t *testing.T) {
	running := claimed("web", 1, "lost")
	running.State = model.StateRunning
	running.Address = "127.0.0.1"
	h := newHarness(t, nil, func(h *harness) {
		h.src.Set([]model.ActualLRP{running, claimed("web", 0, "fresh")}, lrp("web", nil, nil))
	})
	waitFor(t, 10*time.Second, "unclaim", func() bool { return len(celltest.CommandsOf[model.UnclaimActualLRP](h.rep)) == 1 })
	u := celltest.CommandsOf[model.UnclaimActualLRP](h.rep)[0]
	if u.Key != running.ActualLRPKey || u.InstanceKey != running.ActualLRPInstanceKey {
		t.Fatalf("unclaim: %+v", u)
	}
	waitFor(t, 10*time.Second, "claimed row started", func() bool { return len(starts(h)) == 1 })
	if _, ok := h.rt.Container("lost"); ok {
		t.Fatal("a container was created for the RUNNING row")
	}
}

func TestCellDestroysLeftoverContainers(t *testing.T) {
	h := newHarness(t, nil, func(h *harness) {
		h.rt.Create(context.Background(), cell.ContainerSpec{ID: "leftover", Labels: map[string]string{cell.LabelKind: "lrp", cell.LabelInstanceGUID: "leftover"}})
	})
	waitFor(t, 10*time.Second, "leftover destroyed", func() bool { return h.rt.Destroys() == 1 && h.rt.Len() == 0 })
}

func TestCellCreateFailure(t *testing.T) {
	h := newHarness(t, nil, func(h *harness) {
		h.rt.SetCreateError(func(spec cell.ContainerSpec) error {
			if spec.ID == "bad" {
				return errors.New("no space left on device")
			}
			return nil
		})
	})
	h.src.Set([]model.ActualLRP{claimed("web", 0, "bad"), claimed("web", 1, "good")}, lrp("web", nil, nil))
	c := waitCrash(t, h)
	if c.Reason != "failed to create container: no space left on device" || c.InstanceKey.InstanceGUID != "bad" {
		t.Fatalf("crash: %+v", c)
	}
	waitFor(t, 10*time.Second, "good instance started", func() bool { return len(starts(h)) == 1 })
}

func TestCellStopsInstanceWhenStartRefused(t *testing.T) {
	h := newHarness(t, nil, func(h *harness) {
		h.rep.SetFunc(func(cmd model.Command) error {
			if _, ok := cmd.(model.StartActualLRP); ok {
				return model.Errorf(model.CodeInvalidTransition, "row moved on")
			}
			return nil
		})
	})
	h.src.Set([]model.ActualLRP{claimed("web", 0, "i")}, lrp("web", nil, nil))
	waitFor(t, 10*time.Second, "container destroyed", func() bool { return h.rt.Destroys() == 1 })
	if len(crashes(h)) != 0 {
		t.Fatalf("crash reported after a refused start: %+v", crashes(h))
	}
	if got := len(starts(h)); got != 1 {
		t.Fatalf("start attempts: got %d, want 1 (refusals are not retried)", got)
	}
}

func TestCellRetriesTransientReportFailures(t *testing.T) {
	h := newHarness(t, nil, func(h *harness) {
		failures := 2
		h.rep.SetFunc(func(cmd model.Command) error {
			if _, ok := cmd.(model.StartActualLRP); ok && failures > 0 {
				failures--
				return model.Errorf(model.CodeNotLeader, "no leader")
			}
			return nil
		})
	})
	h.src.Set([]model.ActualLRP{claimed("web", 0, "i")}, lrp("web", nil, nil))
	waitFor(t, 10*time.Second, "start accepted after retries", func() bool { return len(starts(h)) == 3 })
	if h.rt.Len() != 1 {
		t.Fatalf("containers: got %d, want 1 (a transient failure does not stop it)", h.rt.Len())
	}
}

func TestCellLogsAndFollow(t *testing.T) {
	h := newHarness(t, nil, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch := h.cell.Logs().Follow(ctx, "web")
	h.src.Set([]model.ActualLRP{claimed("web", 0, "i")}, lrp("web", nil, nil))
	var sawCell, sawApp, sawErr bool
	deadline := time.After(10 * time.Second)
	for !(sawCell && sawApp && sawErr) {
		select {
		case l := <-ch:
			if l.ProcessGUID != "web" || l.InstanceGUID != "i" || l.Index != 0 {
				t.Fatalf("line %+v", l)
			}
			switch {
			case l.Source == model.LogSourceCell && l.Text == "Cell cell-a creating container for instance i":
				sawCell = true
			case l.Source == model.LogSourceApp && l.Stream == model.StreamOut && strings.HasPrefix(l.Text, "Fake process starting: index 0, instance guid i"):
				sawApp = true
			case l.Source == model.LogSourceApp && l.Stream == model.StreamErr:
				sawErr = true
			}
		case <-deadline:
			t.Fatalf("follow: cell %v app %v err %v", sawCell, sawApp, sawErr)
		}
	}
	recent := texts(h.cell.Logs().Recent("web"))
	for _, want := range []string{"Cell cell-a creating container for instance i", "Cell cell-a successfully created container for instance i"} {
		if !contains(recent, want) {
			t.Fatalf("recent lacks %q: %v", want, recent)
		}
	}
}

func TestCellMetrics(t *testing.T) {
	h := newHarness(t, nil, nil)
	h.src.Set([]model.ActualLRP{claimed("web", 0, "i")}, lrp("web", nil, nil))
	waitFor(t, 10*time.Second, "metrics", func() bool {
		m, ok := h.cell.InstanceMetrics("i")
		return ok && m.MemoryBytes > 0 && m.MemoryQuota == 64<<20
	})
	if len(h.cell.Collectors()) == 0 {
		t.Fatal("no collectors")
	}
}

func TestCellShutdownDestroysWithoutReports(t *testing.T) {
	h := newHarness(t, nil, nil)
	h.src.Set([]model.ActualLRP{claimed("web", 0, "a"), claimed("web", 1, "b")}, lrp("web", nil, nil))
	waitFor(t, 10*time.Second, "two starts", func() bool { return len(starts(h)) == 2 })
	n := len(h.rep.Commands())
	h.stop()
	if h.rt.Len() != 0 {
		t.Fatalf("containers after shutdown: %d", h.rt.Len())
	}
	if got := len(h.rep.Commands()); got != n {
		t.Fatalf("reports during shutdown: %v", h.rep.Commands()[n:])
	}
}

func TestCellSIGKILLAfterGrace(t *testing.T) {
	h := newHarness(t, func(c *cell.Config) { c.StopGrace = 30 * time.Millisecond }, nil)
	h.src.Set([]model.ActualLRP{claimed("web", 0, "i")}, lrp("web", map[string]string{celltest.EnvIgnoreSIGTERM: "true"}, nil))
	waitFor(t, 10*time.Second, "start", func() bool { return len(starts(h)) == 1 })
	h.src.Set(nil)
	waitFor(t, 10*time.Second, "destroyed", func() bool { return h.rt.Destroys() == 1 })
	waitFor(t, 5*time.Second, "exit logged", func() bool { return hasLine(h, "web", "Exit status 137") })
	if !hasLine(h, "web", "Process did not exit within 30ms of SIGTERM, sending SIGKILL") {
		t.Fatalf("no SIGKILL notice in %v", texts(h.cell.Logs().Recent("web")))
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	cfg := cell.DefaultConfig()
	if _, err := cell.New(cfg, celltest.NewFakeRuntime(), celltest.NewFakeSource(), celltest.NewFakeReporter(), zerolog.Nop()); !errors.Is(err, cell.ErrInvalidConfig) {
		t.Fatalf("no cell id: got %v, want ErrInvalidConfig", err)
	}
}

func texts(lines []model.LogLine) []string {
	var out []string
	for _, l := range lines {
		out = append(out, l.Text)
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func hasLine(h *harness, process, substr string) bool {
	for _, l := range h.cell.Logs().Recent(process) {
		if strings.Contains(l.Text, substr) {
			return true
		}
	}
	return false
}
