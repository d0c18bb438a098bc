package lifecycle_test

import (
	"context"
	"errors"
	"io"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/diegod/diegod/lifecycle"
	"github.com/diegod/diegod/lifecycle/lifecycletest"
	"github.com/diegod/diegod/model"
)

func TestBuildRunsTreeWithEnvAndSources(t *testing.T) {
	runner := lifecycletest.NewFakeRunner(func(p *lifecycletest.FakeProcess) { p.Exit(lifecycle.ExitStatus{}) })
	var mu sync.Mutex
	var sources []string
	env := lifecycle.BuildEnv{
		Runner: runner,
		Env:    []string{"PORT=8080", "INSTANCE_INDEX=0"},
		Output: func(source string) (io.Writer, io.Writer) {
			mu.Lock()
			sources = append(sources, source)
			mu.Unlock()
			return io.Discard, io.Discard
		},
	}
	tree := model.Action{Serial: []model.Action{
		{Run: &model.RunAction{Path: "/bin/setup", LogSource: "STG"}},
		{Try: &model.TryAction{Action: model.Action{Run: &model.RunAction{Path: "/bin/app", Env: map[string]string{"PORT": "9090", "A": "b"}}}}},
		{Run: &model.RunAction{Path: "/bin/quiet", SuppressLogOutput: true}},
	}}
	step, err := lifecycle.Build(tree, env)
	if err != nil {
		t.Fatal(err)
	}
	if err := step.Run(context.Background()); err != nil {
		t.Fatalf("run: %v", err)
	}
	procs := runner.Processes()
	if len(procs) != 3 {
		t.Fatalf("processes: got %d, want 3", len(procs))
	}
	if got, want := procs[1].Spec.Env, []string{"PORT=9090", "INSTANCE_INDEX=0", "A=b"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("env: got %v, want %v", got, want)
	}
	if got, want := sources, []string{"STG", model.LogSourceApp}; !reflect.DeepEqual(got, want) {
		t.Fatalf("sources: got %v, want %v (quiet run asks for no output)", got, want)
	}
}

func TestBuildTimeoutAndInvalid(t *testing.T) {
	runner := lifecycletest.NewFakeRunner(nil) // processes run until signalled
	step, err := lifecycle.Build(model.Action{Timeout: &model.TimeoutAction{
		TimeoutMS: 10, Action: model.Action{Run: &model.RunAction{Path: "/bin/sleep"}},
	}}, lifecycle.BuildEnv{Runner: runner})
	if err != nil {
		t.Fatal(err)
	}
	if got := lifecycle.Reason(step.Run(context.Background())); got != "timed out after 10ms" {
		t.Fatalf("reason: got %q, want timed out after 10ms", got)
	}
	_, err = lifecycle.Build(model.Action{Serial: []model.Action{{}}}, lifecycle.BuildEnv{})
	if !errors.Is(err, lifecycle.ErrInvalidAction) {
		t.Fatalf("empty node: got %v, want ErrInvalidAction", err)
	}
}

func TestBuildCodependent(t *testing.T) {
	runner := lifecycletest.NewFakeRunner(func(p *lifecycletest.FakeProcess) {
		if strings.HasSuffix(p.Spec.Path, "crash") {
			p.Exit(lifecycle.ExitStatus{Code: 7})
		}
	})
	step, err := lifecycle.Build(model.Action{Codependent: []model.Action{
		{Run: &model.RunAction{Path: "/bin/forever"}},
		{Run: &model.RunAction{Path: "/bin/crash", LogSource: "SIDECAR"}},
	}}, lifecycle.BuildEnv{Runner: runner})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := lifecycle.Reason(step.Run(context.Background())), "SIDECAR: Exited with status 7"; got != want {
		t.Fatalf("reason: got %q, want %q", got, want)
	}
}

func TestMergeEnv(t *testing.T) {
	got := lifecycle.MergeEnv([]string{"A=1", "B=2"}, []string{"B=3", "C=4"}, lifecycle.EnvFromMap(map[string]string{"A": "5"}))
	if want := []string{"A=5", "B=3", "C=4"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}
