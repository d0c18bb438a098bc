package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/diegod/diegod/cell/celltest"
	"github.com/diegod/diegod/model"
)

// taskNode is a running node with a client to its API (task routes
// included).
type taskNode struct {
	*testNode
	tasks *Client
}

func startTaskNode(t testing.TB, cfg Config) *taskNode {
	t.Helper()
	tn := startNode(t, cfg)
	return &taskNode{testNode: tn, tasks: tn.client}
}

// startCallbacks runs a callback worker on the node's store (idle if the
// node already runs one) until the test ends.
func (tn *taskNode) startCallbacks(t *testing.T, cfg TaskCallbackConfig) {
	t.Helper()
	w, err := newTaskCallbacks(tn.Store(), tn.Store(), cfg, zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("callback worker: %v", err)
		}
	})
}

func fakeTask(guid string, env map[string]string) model.TaskSpec {
	return model.TaskSpec{TaskGUID: guid, TaskDefinition: model.TaskDefinition{MemoryMB: 1, DiskMB: 1,
		Action: &model.Action{Run: &model.RunAction{Path: "/bin/fake", Env: env}}}}
}

// waitTask polls the task until cond holds and returns it.
func (tn *taskNode) waitTask(t *testing.T, guid, what string, cond func(model.Task) bool) model.Task {
	t.Helper()
	var got model.Task
	waitFor(t, 20*time.Second, what, func() bool {
		task, _, err := tn.tasks.Task(context.Background(), guid, 0, 0)
		got = task
		return err == nil && cond(task)
	})
	return got
}

func completed(t model.Task) bool { return t.State == model.TaskCompleted }

func TestTaskLifecycleOverAPI(t *testing.T) {
	tn := startTaskNode(t, testConfig(t, t.TempDir()))
	ctx := context.Background()
	spec := fakeTask("job", map[string]string{celltest.EnvResult: "42"})
	spec.ResultFile = "/tmp/result"
	res, err := tn.tasks.SubmitTask(ctx, spec)
	if err != nil || res.TaskGUID != "job" || res.Index == 0 {
		t.Fatalf("submit: got %+v, %v", res, err)
	}
	got := tn.waitTask(t, "job", "job to complete", completed)
	if got.Failed || got.Result != "42" || got.CellID != "" || got.FirstCompletedAt.IsZero() {
		t.Fatalf("completed job: got %+v", got)
	}

	// Refusals: duplicate, invalid spec, unknown field.
	if _, err := tn.tasks.SubmitTask(ctx, spec); model.CodeOf(err) != model.CodeResourceExists {
		t.Errorf("duplicate: got %v, want resource_exists", err)
	}
	bad := fakeTask("bad guid", nil)
	if _, err := tn.tasks.SubmitTask(ctx, bad); model.CodeOf(err) != model.CodeInvalidRequest || !strings.Contains(err.Error(), "task_guid") {
		t.Errorf("invalid guid: got %v, want invalid_request naming task_guid", err)
	}
	resp, err := http.Post(tn.tasks.BaseURL+"/v1/tasks", "application/json", strings.NewReader(`{"task_guid":"x","instances":2}`))
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("without a token: got %d, want 401", resp.StatusCode)
		}
	}

	// A long task runs until cancelled; delete is refused until then.
	if _, err := tn.tasks.SubmitTask(ctx, fakeTask("sleeper", map[string]string{celltest.EnvExitAfter: "1h"})); err != nil {
		t.Fatal(err)
	}
	tn.waitTask(t, "sleeper", "sleeper to run", func(x model.Task) bool { return x.State == model.TaskRunning })
	waitFor(t, 10*time.Second, "the sleeper's container", func() bool { _, ok := tn.fake().Container("sleeper"); return ok })
	if _, err := tn.tasks.DeleteTask(ctx, "sleeper"); model.CodeOf(err) != model.CodeInvalidTransition {
		t.Errorf("delete a running task: got %v, want invalid_transition", err)
	}
	running, err := tn.tasks.Tasks(ctx, model.TaskRunning)
	if err != nil || len(running) != 1 || running[0].TaskGUID != "sleeper" {
		t.Errorf("list ?state=RUNNING: got %v, %v; want [sleeper]", running, err)
	}
	if _, err := tn.tasks.Tasks(ctx, "DONE"); model.CodeOf(err) != model.CodeInvalidRequest {
		t.Errorf("list ?state=DONE: got %v, want invalid_request", err)
	}
	if _, err := tn.tasks.CancelTask(ctx, "sleeper"); err != nil {
		t.Fatal(err)
	}
	got = tn.waitTask(t, "sleeper", "sleeper to be cancelled", completed)
	if !got.Failed || got.FailureReason != model.TaskReasonCancelled {
		t.Errorf("cancelled task: got failed %v reason %q", got.Failed, got.FailureReason)
	}
	waitFor(t, 10*time.Second, "no container left", func() bool { return tn.fake().Len() == 0 })
	if _, err := tn.tasks.CancelTask(ctx, "sleeper"); model.CodeOf(err) != model.CodeInvalidTransition {
		t.Errorf("cancel a completed task: got %v, want invalid_transition", err)
	}

	all, err := tn.tasks.Tasks(ctx, "")
	if err != nil || len(all) != 2 {
		t.Errorf("list: got %d tasks, %v; want 2", len(all), err)
	}
	for _, g := range []string{"job", "sleeper"} {
		if _, err := tn.tasks.DeleteTask(ctx, g); err != nil {
			t.Errorf("delete %s: %v", g, err)
		}
		if _, _, err := tn.tasks.Task(ctx, g, 0, 0); !errors.Is(err, model.ErrNotFound) {
			t.Errorf("status of deleted %s: got %v, want not_found", g, err)
		}
	}

	// The task's logs are under its guid, cf-style.
	var lines []string
	err = tn.tasks.Logs(ctx, "job", false, true, func(l model.LogLine) error {
		lines = append(lines, l.Prefix()+" "+l.Text)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if all := strings.Join(lines, "\n"); !strings.Contains(all, "[APP/TASK/job] OUT Fake process starting") ||
		!strings.Contains(all, "[CELL] OUT Cell cell-1 creating container for task job") {
		t.Errorf("task logs:\n%s", all)
	}
}

// TestThousandTasksComplete: 1,000 tasks submitted at once on the fake
// runtime all complete.
func TestThousandTasksComplete(t *testing.T) {
	if testing.Short() {
		t.Skip("1,000 tasks: skipped with -short")
	}
	cfg := testConfig(t, t.TempDir())
	cfg.MaxContainers = 2000
	tn := startTaskNode(t, cfg)
	const n = 1000
	submitTasks(t, tn, "many", n, map[string]string{celltest.EnvExitCode: "0"})
	waitFor(t, 60*time.Second, "1,000 completed tasks", func() bool {
		done, err := tn.tasks.Tasks(context.Background(), model.TaskCompleted)
		return err == nil && len(done) == n
	})
	done, _ := tn.tasks.Tasks(context.Background(), model.TaskCompleted)
	for _, task := range done {
		if task.Failed {
			t.Fatalf("task %s failed: %s", task.TaskGUID, task.FailureReason)
		}
	}
	waitFor(t, 20*time.Second, "no container left", func() bool { return tn.fake().Len() == 0 })
}

// submitTasks submits n tasks named prefix-i at once (64 requests in
// flight).
func submitTasks(t testing.TB, tn *taskNode, prefix string, n int, env map[string]string) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	sem := make(chan struct{}, 64)
	for i := 0; i < n; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if _, err := tn.tasks.SubmitTask(context.Background(), fakeTask(fmt.Sprintf("%s-%d", prefix, i), env)); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("submit: %v", err)
	}
}

// TestTaskOnLostCellFails: a task RUNNING on a cell that is marked LOST
// fails "cell disappeared before completion".
func TestTaskOnLostCellFails(t *testing.T) {
	tn := startTaskNode(t, testConfig(t, t.TempDir()))
	ctx := context.Background()
	// A cell without an executor: only tasks tagged "ghost" go there.
	ghost := model.Cell{CellID: "ghost", Zone: "z", RootFSProviders: []string{model.DefaultRootFS}, PlacementTags: []string{"ghost"},
		Capacity: model.Resources{MemoryMB: 1024, DiskMB: 1024, Containers: 10}}
	if _, err := tn.Store().Propose(ctx, model.UpsertCell{Cell: ghost}); err != nil {
		t.Fatal(err)
	}
	spec := fakeTask("haunted", nil)
	spec.PlacementTags = []string{"ghost"}
	if _, err := tn.tasks.SubmitTask(ctx, spec); err != nil {
		t.Fatal(err)
	}
	tn.waitTask(t, "haunted", "the task to run on ghost", func(x model.Task) bool { return x.State == model.TaskRunning && x.CellID == "ghost" })
	if _, err := tn.Store().Propose(ctx, model.SetCellState{CellID: "ghost", State: model.CellLost}); err != nil {
		t.Fatal(err)
	}
	got := tn.waitTask(t, "haunted", "the task to fail", completed)
	if !got.Failed || got.FailureReason != model.TaskReasonCellDisappeared {
		t.Errorf("task on a lost cell: got failed %v reason %q, want %q", got.Failed, got.FailureReason, model.TaskReasonCellDisappeared)
	}
}

// callbackServer records the callbacks it receives and answers with the
// next status of its script (200 once the script is used up).
type callbackServer struct {
	*httptest.Server
	mu     sync.Mutex
	script []int
	got    []TaskCallback
}

func newCallbackServer(t *testing.T, script ...int) *callbackServer {
	t.Helper()
	cs := &callbackServer{script: script}
	cs.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var cb TaskCallback
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" || json.NewDecoder(r.Body).Decode(&cb) != nil {
			http.Error(w, "bad callback", http.StatusBadRequest)
			return
		}
		cs.mu.Lock()
		cs.got = append(cs.got, cb)
		status := http.StatusOK
		if len(cs.script) > 0 {
			status, cs.script = cs.script[0], cs.script[1:]
		}
		cs.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(cs.Close)
	return cs
}

func (cs *callbackServer) calls() []TaskCallback {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return append([]TaskCallback(nil), cs.got...)
}

func TestTaskCallbacks(t *testing.T) {
	tests := []struct {
		name   string
		script []int
		calls  int
	}{
		{"answered at once", nil, 1},
		{"503 then 200 is retried", []int{http.StatusServiceUnavailable}, 2},
		{"504 twice then 201", []int{http.StatusGatewayTimeout, http.StatusGatewayTimeout, http.StatusCreated}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tn := startTaskNode(t, testConfig(t, t.TempDir()))
			cfg := DefaultTaskCallbackConfig()
			cfg.RetryDelay = 10 * time.Millisecond
			tn.startCallbacks(t, cfg)
			cs := newCallbackServer(t, tt.script...)
			spec := fakeTask("cb", map[string]string{celltest.EnvResult: "42"})
			spec.ResultFile = "/tmp/r"
			spec.Annotation = "note"
			spec.CompletionCallbackURL = cs.URL + "/done"
			before := time.Now()
			if _, err := tn.tasks.SubmitTask(context.Background(), spec); err != nil {
				t.Fatal(err)
			}
			waitFor(t, 20*time.Second, "the task to be deleted", func() bool {
				_, _, err := tn.tasks.Task(context.Background(), "cb", 0, 0)
				return errors.Is(err, model.ErrNotFound)
			})
			calls := cs.calls()
			if len(calls) != tt.calls {
				t.Fatalf("callbacks received: got %d, want %d", len(calls), tt.calls)
			}
			cb := calls[0]
			if cb.TaskGUID != "cb" || cb.Failed || cb.FailureReason != "" || cb.Result != "42" || cb.Annotation != "note" ||
				cb.CreatedAt < before.Add(-time.Second).UnixNano() || cb.CreatedAt > time.Now().UnixNano() {
				t.Errorf("callback body: got %+v", cb)
			}
		})
	}
	t.Run("503 three times leaves it resolving", func(t *testing.T) {
		tn := startTaskNode(t, testConfig(t, t.TempDir()))
		cfg := DefaultTaskCallbackConfig()
		cfg.RetryDelay = 10 * time.Millisecond
		tn.startCallbacks(t, cfg)
		cs := newCallbackServer(t, 503, 503, 503)
		spec := fakeTask("cb", map[string]string{celltest.EnvExitCode: "7"})
		spec.CompletionCallbackURL = cs.URL
		if _, err := tn.tasks.SubmitTask(context.Background(), spec); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 20*time.Second, "3 callbacks", func() bool { return len(cs.calls()) == 3 })
		got := tn.waitTask(t, "cb", "the task to stay RESOLVING", func(x model.Task) bool { return x.State == model.TaskResolving })
		if !got.Failed || !strings.Contains(got.FailureReason, "Exited with status 7") {
			t.Errorf("task: got failed %v reason %q", got.Failed, got.FailureReason)
		}
		if c := cs.calls()[0]; !c.Failed || c.FailureReason != got.FailureReason || c.Result != "" {
			t.Errorf("callback of a failed task: got %+v", c)
		}
	})
}

func TestTaskCallbackConfigValidate(t *testing.T) {
	if err := DefaultTaskCallbackConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	for _, mutate := range []func(*TaskCallbackConfig){
		func(c *TaskCallbackConfig) { c.Tries = 0 },
		func(c *TaskCallbackConfig) { c.Timeout = 0 },
		func(c *TaskCallbackConfig) { c.RetryDelay = -1 },
		func(c *TaskCallbackConfig) { c.Workers = 0 },
		func(c *TaskCallbackConfig) { c.Rescan = 0 },
	} {
		c := DefaultTaskCallbackConfig()
		mutate(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("%+v: got valid", c)
		}
	}
}

func TestParseTaskSpec(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"yaml", "task_guid: a\nresult_file: /tmp/r\ncompletion_callback_url: http://x/cb\naction: {run: {path: /x}}\n", ""},
		{"unknown", "task_guid: a\ninstances: 2\n", `unknown field "instances"`},
		{"empty", "\n", "empty spec"},
	}
	for _, tt := range tests {
		spec, err := ParseTaskSpec([]byte(tt.in))
		switch {
		case tt.want == "" && (err != nil || spec.ResultFile != "/tmp/r" || spec.RootFS != model.DefaultRootFS || spec.LogGUID != "a"):
			t.Errorf("%s: got %+v, %v", tt.name, spec, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s: got %v, want an error containing %q", tt.name, err, tt.want)
		}
	}
}

// TestTaskExpiry: a PENDING task that never starts fails "not started
// within time limit"; a COMPLETED task nobody resolves is deleted after the
// completed expiry (spec §3 task pass, timings shortened).
func TestTaskExpiry(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	cfg.ConvergeInterval = 100 * time.Millisecond
	cfg.Tasks.KickDuration = time.Hour // no re-auction: the big task stays PENDING
	cfg.Tasks.PendingExpiry = 500 * time.Millisecond
	cfg.Tasks.CompletedExpiry = 500 * time.Millisecond
	tn := startTaskNode(t, cfg)
	ctx := context.Background()

	big := fakeTask("too-big", nil)
	big.MemoryMB = 1 << 19 // more than the cell has: never placed
	if _, err := tn.tasks.SubmitTask(ctx, big); err != nil {
		t.Fatal(err)
	}
	got := tn.waitTask(t, "too-big", "the pending task to expire", completed)
	if !got.Failed || got.FailureReason != "not started within time limit" {
		t.Errorf("expired pending task: failed %v reason %q, want failed \"not started within time limit\"", got.Failed, got.FailureReason)
	}

	if _, err := tn.tasks.SubmitTask(ctx, fakeTask("done", nil)); err != nil {
		t.Fatal(err)
	}
	tn.waitTask(t, "done", "the task to complete", completed)
	waitFor(t, 20*time.Second, "the completed task to be deleted", func() bool {
		_, _, err := tn.tasks.Task(ctx, "done", 0, 0)
		return errors.Is(err, model.ErrNotFound)
	})
}
