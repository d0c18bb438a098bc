package lifecycle

import (
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/diegod/diegod/model"
	"github.com/rs/zerolog"
)

// BuildEnv is what Build needs to turn an action tree into steps.
type BuildEnv struct {
	// Runner starts the processes of run actions.
	Runner ProcessRunner
	// Extractor unpacks download actions; nil makes downloads fail.
	Extractor Extractor
	// HTTPClient fetches downloads; nil means http.DefaultClient.
	HTTPClient *http.Client
	// DownloadSlots, when set, bounds concurrent downloads.
	DownloadSlots chan struct{}
	// Env is the environment every run action starts with; the action's own
	// env comes after it (a later value of a variable wins).
	Env []string
	// DefaultLogSource names run actions without a log_source; "" means
	// APP/PROC/WEB.
	DefaultLogSource string
	// Output returns the stdout and stderr writers of a run action with the
	// given log source; nil (or nil writers) discards the output.
	Output func(source string) (stdout, stderr io.Writer)
	// Grace is the SIGTERM→SIGKILL interval of run actions; 0 means
	// DefaultGrace.
	Grace time.Duration
	Log   zerolog.Logger
}

// Build turns an action tree into a step. It fails with ErrInvalidAction
// for a node that names no action kind or more than one.
func Build(a model.Action, env BuildEnv) (Step, error) {
	switch {
	case countKinds(&a) != 1:
		return nil, fmt.Errorf("build action: %w: want exactly one kind, got %d", ErrInvalidAction, countKinds(&a))
	case a.Run != nil:
		return buildRun(a.Run, env), nil
	case a.Download != nil:
		return &DownloadStep{
			Action:    *a.Download,
			Client:    env.HTTPClient,
			Extractor: env.Extractor,
			Slots:     env.DownloadSlots,
			Log:       env.Log,
		}, nil
	case a.Timeout != nil:
		child, err := Build(a.Timeout.Action, env)
		if err != nil {
			return nil, err
		}
		return Timeout(child, time.Duration(a.Timeout.TimeoutMS)*time.Millisecond), nil
	case a.Try != nil:
		child, err := Build(a.Try.Action, env)
		if err != nil {
			return nil, err
		}
		log := env.Log
		return Try(child, func(err error) { log.Info().Err(err).Msg("try action failed") }), nil
	}
	var list []model.Action
	var compose func(...Step) Step
	switch {
	case a.Serial != nil:
		list, compose = a.Serial, Serial
	case a.Parallel != nil:
		list, compose = a.Parallel, Parallel
	default:
		list, compose = a.Codependent, Codependent
	}
	steps := make([]Step, 0, len(list))
	for _, child := range list {
		s, err := Build(child, env)
		if err != nil {
			return nil, err
		}
		steps = append(steps, s)
	}
	return compose(steps...), nil
}

func countKinds(a *model.Action) int {
	n := 0
	for _, set := range []bool{a.Run != nil, a.Download != nil, a.Serial != nil, a.Parallel != nil,
		a.Codependent != nil, a.Timeout != nil, a.Try != nil} {
		if set {
			n++
		}
	}
	return n
}

func buildRun(r *model.RunAction, env BuildEnv) *RunStep {
	source := r.LogSource
	if source == "" {
		source = env.DefaultLogSource
	}
	if source == "" {
		source = model.LogSourceApp
	}
	spec := ProcessSpec{
		Path:   r.Path,
		Args:   append([]string(nil), r.Args...),
		Dir:    r.Dir,
		Env:    MergeEnv(env.Env, EnvFromMap(r.Env)),
		User:   r.User,
		Nofile: r.Nofile,
	}
	if env.Output != nil && !r.SuppressLogOutput {
		spec.Stdout, spec.Stderr = env.Output(source)
	}
	return &RunStep{
		Runner:    env.Runner,
		Spec:      spec,
		LogSource: source,
		Grace:     env.Grace,
		Log:       env.Log,
	}
}

// EnvFromMap returns m as "KEY=value" entries sorted by key.
func EnvFromMap(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// MergeEnv concatenates environment lists; when a variable appears more
// than once the last value wins and keeps the first one's position.
func MergeEnv(lists ...[]string) []string {
	var out []string
	pos := map[string]int{}
	for _, list := range lists {
		for _, kv := range list {
			k, _, _ := strings.Cut(kv, "=")
			if i, ok := pos[k]; ok {
				out[i] = kv
				continue
			}
			pos[k] = len(out)
			out = append(out, kv)
		}
	}
	return out
}
