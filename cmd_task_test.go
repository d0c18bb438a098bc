package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/diegod/diegod/model"
	"github.com/diegod/diegod/node"
)

// fakeTaskAPI serves the task endpoints the CLI uses: the submitted task
// is RUNNING on the first read and then completes with final.
type fakeTaskAPI struct {
	mu        sync.Mutex
	submitted []model.TaskSpec
	reads     int
	final     model.Task
	cancelled []string
}

func (f *fakeTaskAPI) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/tasks", func(w http.ResponseWriter, r *http.Request) {
		var spec model.TaskSpec
		if err := json.NewDecoder(r.Body).Decode(&spec); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		f.mu.Lock()
		f.submitted = append(f.submitted, spec)
		f.mu.Unlock()
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(node.TaskResult{TaskGUID: spec.TaskGUID, Index: 5})
	})
	mux.HandleFunc("GET /v1/tasks/{guid}", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.reads++
		t := f.final
		if f.reads == 1 {
			t.State, t.Failed, t.FailureReason, t.Result, t.CellID = model.TaskRunning, false, "", "", "cell-1"
		}
		f.mu.Unlock()
		w.Header().Set("X-Diegod-Index", "6")
		_ = json.NewEncoder(w).Encode(t)
	})
	mux.HandleFunc("GET /v1/tasks", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		out := []model.Task{}
		if st := r.URL.Query().Get("state"); st == "" || model.TaskState(st) == f.final.State {
			out = append(out, f.final)
		}
		_ = json.NewEncoder(w).Encode(out)
	})
	mux.HandleFunc("POST /v1/tasks/{guid}/cancel", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.cancelled = append(f.cancelled, r.PathValue("guid"))
		f.mu.Unlock()
		_ = json.NewEncoder(w).Encode(node.TaskResult{TaskGUID: r.PathValue("guid"), Index: 9})
	})
	mux.HandleFunc("GET /v1/logs/{guid}", func(w http.ResponseWriter, r *http.Request) {
		guid := r.PathValue("guid")
		enc := json.NewEncoder(w)
		_ = enc.Encode(model.LogLine{Time: time.Now(), ProcessGUID: guid, Index: model.LogNoIndex,
			Source: "APP/TASK/" + guid, Stream: model.StreamOut, Text: "hello from the task"})
		_ = enc.Encode(model.LogLine{Time: time.Now(), ProcessGUID: guid, Index: model.LogNoIndex,
			Source: model.LogSourceCell, Stream: model.StreamOut, Text: "Cell cell-1 successfully destroyed container for task " + guid})
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	return mux
}

// runCLI runs the task command with args against srv and returns its
// stdout, stderr and error.
func runCLI(t *testing.T, srv *httptest.Server, args ...string) (string, string, error) {
	t.Helper()
	saved := globals
	t.Cleanup(func() { globals = saved })
	globals.addr, globals.token, globals.output = srv.URL, "token", "table"
	for i := 0; i+1 < len(args); i++ {
		if args[i] == "-o" {
			globals.output = args[i+1]
			args = append(args[:i:i], args[i+2:]...)
			break
		}
	}
	stdout, stderr := capture(t, &os.Stdout), capture(t, &os.Stderr)
	cmd := newTaskCmd()
	cmd.SetArgs(args)
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err := cmd.ExecuteContext(ctx)
	return stdout(), stderr(), err
}

// capture redirects *f to a pipe until the returned function is called; it
// returns what was written.
func capture(t *testing.T, f **os.File) func() string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	saved := *f
	*f = w
	out := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(r)
		out <- string(b)
	}()
	return func() string {
		*f = saved
		w.Close()
		return <-out
	}
}

func writeSpec(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "task.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

const taskYAML = `task_guid: job
memory_mb: 16
action: {run: {path: /bin/sh, args: ["-c", "echo 42 > /tmp/out"]}}
result_file: /tmp/out
`

func completedTask(failed bool, reason, result string) model.Task {
	return model.Task{TaskSpec: model.TaskSpec{TaskGUID: "job"}, State: model.TaskCompleted, Failed: failed,
		FailureReason: reason, Result: result, CreatedAt: time.Now(), UpdatedAt: time.Now(), FirstCompletedAt: time.Now()}
}

func TestTaskRunPrintsResult(t *testing.T) {
	api := &fakeTaskAPI{final: completedTask(false, "", "42\n")}
	srv := httptest.NewServer(api.handler())
	defer srv.Close()
	stdout, stderr, err := runCLI(t, srv, "run", writeSpec(t, taskYAML))
	if err != nil {
		t.Fatalf("task run: %v", err)
	}
	if stdout != "42\n" {
		t.Errorf("stdout: got %q, want the result %q", stdout, "42\n")
	}
	if !strings.Contains(stderr, "[APP/TASK/job] OUT hello from the task") {
		t.Errorf("stderr: the task's logs are missing:\n%s", stderr)
	}
	if len(api.submitted) != 1 || api.submitted[0].ResultFile != "/tmp/out" || api.submitted[0].RootFS != model.DefaultRootFS {
		t.Errorf("submitted: got %+v", api.submitted)
	}
}

func TestTaskRunFailureExitsOne(t *testing.T) {
	api := &fakeTaskAPI{final: completedTask(true, "APP/TASK/job: Exited with status 3", "")}
	srv := httptest.NewServer(api.handler())
	defer srv.Close()
	stdout, _, err := runCLI(t, srv, "run", writeSpec(t, taskYAML))
	var ec *exitCodeError
	if !errors.As(err, &ec) || ec.code != exitError || !strings.Contains(ec.Error(), "Exited with status 3") {
		t.Fatalf("task run of a failing task: got %v, want exit 1 with the reason", err)
	}
	if stdout != "" {
		t.Errorf("stdout of a failed task: got %q, want nothing", stdout)
	}
	// -o json prints the completed task, and still exits 1.
	api.reads = 0
	stdout, _, err = runCLI(t, srv, "run", writeSpec(t, strings.Replace(taskYAML, "job", "job", 1)), "-o", "json")
	var got model.Task
	if jerr := json.Unmarshal([]byte(stdout), &got); jerr != nil || !got.Failed || !errors.As(err, &ec) {
		t.Errorf("-o json: got %q (%v), err %v", stdout, jerr, err)
	}
}

func TestTaskCLIRefusesBadSpecAndState(t *testing.T) {
	api := &fakeTaskAPI{final: completedTask(false, "", "")}
	srv := httptest.NewServer(api.handler())
	defer srv.Close()
	if _, _, err := runCLI(t, srv, "run", writeSpec(t, "task_guid: job\ninstances: 3\n")); err == nil || !strings.Contains(err.Error(), "instances") {
		t.Errorf("unknown field: got %v", err)
	}
	if _, _, err := runCLI(t, srv, "run", writeSpec(t, "task_guid: job\n")); err == nil || !strings.Contains(err.Error(), "action: required") {
		t.Errorf("no action: got %v", err)
	}
	if _, _, err := runCLI(t, srv, "list", "--state", "done"); err == nil {
		t.Error("list --state done: got nil error")
	}
	if len(api.submitted) != 0 {
		t.Errorf("invalid specs were submitted: %+v", api.submitted)
	}
}

func TestTaskListStatusCancel(t *testing.T) {
	api := &fakeTaskAPI{final: completedTask(false, "", "42")}
	srv := httptest.NewServer(api.handler())
	defer srv.Close()
	stdout, _, err := runCLI(t, srv, "list", "--state", "completed")
	if err != nil || !strings.Contains(stdout, "job") || !strings.Contains(stdout, "succeeded: 42") {
		t.Errorf("list: got %q, %v", stdout, err)
	}
	stdout, _, err = runCLI(t, srv, "list", "-o", "json")
	var tasks []model.Task
	if err != nil || json.Unmarshal([]byte(stdout), &tasks) != nil || len(tasks) != 1 {
		t.Errorf("list -o json: got %q, %v", stdout, err)
	}
	api.reads = 1 // past the fake's first (RUNNING) read
	stdout, _, err = runCLI(t, srv, "status", "job")
	if err != nil || !strings.Contains(stdout, "COMPLETED") {
		t.Errorf("status: got %q, %v", stdout, err)
	}
	stdout, _, err = runCLI(t, srv, "cancel", "job")
	if err != nil || stdout != "job cancelled\n" || len(api.cancelled) != 1 {
		t.Errorf("cancel: got %q, %v (cancelled %v)", stdout, err, api.cancelled)
	}
}
