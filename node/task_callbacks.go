package node

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/diegod/diegod/model"
	"github.com/diegod/diegod/raftstore"
)

// Defaults of the task completion callbacks (spec §1.3, §9).
const (
	// DefaultCallbackTries is how many POSTs one round of a callback makes
	// (Diego's MAX_CB_RETRIES).
	DefaultCallbackTries = 3
	// DefaultCallbackTimeout bounds one POST.
	DefaultCallbackTimeout = 10 * time.Second
	// DefaultCallbackRetryDelay is the wait between two tries of a round.
	DefaultCallbackRetryDelay = 500 * time.Millisecond
	// DefaultCallbackWorkers bounds the callbacks in flight (Diego's task
	// worker pool has 1000 workers).
	DefaultCallbackWorkers = 1000
	// DefaultCallbackRescan is the period of the scan for COMPLETED tasks
	// whose callback is due (Diego resubmits them on its 30 s convergence
	// pass); events trigger callbacks at once in between.
	DefaultCallbackRescan = 30 * time.Second
)

// Log field keys of the callback worker.
const (
	logKeyTaskGUID = "task_guid"
	logKeyStatus   = "status"
	logKeyTry      = "try"
)

// TaskCallbackConfig configures the completion callback worker.
type TaskCallbackConfig struct {
	// Tries is the most POSTs of one round; a 503 or 504 answer or a
	// transport error moves to the next try.
	Tries int
	// Timeout bounds one POST.
	Timeout time.Duration
	// RetryDelay is the wait between two tries of a round.
	RetryDelay time.Duration
	// Workers bounds the callbacks in flight.
	Workers int
	// Rescan is the period of the scan for COMPLETED tasks with a callback.
	Rescan time.Duration
	// Client sends the POSTs; nil means a client with Timeout.
	Client *http.Client
}

// DefaultTaskCallbackConfig returns Diego's settings.
func DefaultTaskCallbackConfig() TaskCallbackConfig {
	return TaskCallbackConfig{
		Tries:      DefaultCallbackTries,
		Timeout:    DefaultCallbackTimeout,
		RetryDelay: DefaultCallbackRetryDelay,
		Workers:    DefaultCallbackWorkers,
		Rescan:     DefaultCallbackRescan,
	}
}

// Validate names the first field out of range; it does not modify c.
func (c TaskCallbackConfig) Validate() error {
	switch {
	case c.Tries <= 0:
		return errors.New("task callbacks: Tries must be > 0")
	case c.Timeout <= 0:
		return errors.New("task callbacks: Timeout must be > 0")
	case c.RetryDelay < 0:
		return errors.New("task callbacks: RetryDelay must be >= 0")
	case c.Workers <= 0:
		return errors.New("task callbacks: Workers must be > 0")
	case c.Rescan <= 0:
		return errors.New("task callbacks: Rescan must be > 0")
	}
	return nil
}

// TaskCallback is the JSON body POSTed to a task's completion_callback_url
// (Diego's TaskCallbackResponse; created_at is Unix nanoseconds).
type TaskCallback struct {
	TaskGUID      string `json:"task_guid"`
	Failed        bool   `json:"failed"`
	FailureReason string `json:"failure_reason"`
	Result        string `json:"result"`
	Annotation    string `json:"annotation,omitempty"`
	CreatedAt     int64  `json:"created_at"`
}

// callbackWorkers marks the stores a callback worker runs on, so that a
// second worker on the same store (wired twice) stays idle instead of
// calling every callback twice.
var callbackWorkers sync.Map // *raftstore.Store -> struct{}

// taskCallbacks is the leader-only completion callback worker (spec §1.3):
// for every COMPLETED task with a completion_callback_url it marks the
// task RESOLVING, POSTs the outcome (up to Tries times while the answer is
// a transport error, 503 or 504) and deletes the task on any other answer.
// A task whose round ran out of tries stays RESOLVING; convergence demotes
// it to COMPLETED after the kick duration and the worker tries again.
type taskCallbacks struct {
	store *raftstore.Store
	prop  proposer
	cfg   TaskCallbackConfig
	log   zerolog.Logger
	http  *http.Client

	mu       sync.Mutex
	inflight map[string]bool
	sem      chan struct{}
	wg       sync.WaitGroup
}

// newTaskCallbacks returns the worker; Run it while this node leads.
func newTaskCallbacks(store *raftstore.Store, prop proposer, cfg TaskCallbackConfig, log zerolog.Logger) (*taskCallbacks, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	hc := cfg.Client
	if hc == nil {
		hc = &http.Client{Timeout: cfg.Timeout}
	}
	return &taskCallbacks{store: store, prop: prop, cfg: cfg, http: hc,
		log: log.With().Str("component", "task_callbacks").Logger()}, nil
}

// Run handles callbacks until ctx ends, then waits for those in flight.
func (w *taskCallbacks) Run(ctx context.Context) error {
	if _, dup := callbackWorkers.LoadOrStore(w.store, struct{}{}); dup {
		w.log.Warn().Msg("a callback worker already runs on this store; staying idle")
		<-ctx.Done()
		return nil
	}
	defer callbackWorkers.Delete(w.store)
	w.mu.Lock()
	w.inflight = map[string]bool{}
	w.sem = make(chan struct{}, w.cfg.Workers)
	w.mu.Unlock()
	defer w.wg.Wait()

	events := w.store.Subscribe(ctx, raftstore.DefaultSubscribeBuffer)
	w.scan(ctx)
	tick := time.NewTicker(w.cfg.Rescan)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			w.scan(ctx)
		case batch, ok := <-events:
			if !ok {
				if ctx.Err() != nil {
					return nil
				}
				events = w.store.Subscribe(ctx, raftstore.DefaultSubscribeBuffer)
				w.scan(ctx)
				continue
			}
			for i := range batch {
				if t := batch[i].TaskAfter; t != nil && callbackDue(t) {
					w.handle(ctx, *t)
				}
			}
		}
	}
}

// callbackDue reports whether t needs its callback: COMPLETED with a URL.
func callbackDue(t *model.Task) bool {
	return t.State == model.TaskCompleted && t.CompletionCallbackURL != ""
}

// scan handles every COMPLETED task with a callback in the current state.
func (w *taskCallbacks) scan(ctx context.Context) {
	for _, t := range w.store.View().Tasks() {
		if callbackDue(&t) {
			w.handle(ctx, t)
		}
	}
}

// handle starts the callback of t unless one is in flight.
func (w *taskCallbacks) handle(ctx context.Context, t model.Task) {
	w.mu.Lock()
	if w.inflight[t.TaskGUID] {
		w.mu.Unlock()
		return
	}
	w.inflight[t.TaskGUID] = true
	w.mu.Unlock()
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		defer func() {
			w.mu.Lock()
			delete(w.inflight, t.TaskGUID)
			w.mu.Unlock()
		}()
		select {
		case w.sem <- struct{}{}:
		case <-ctx.Done():
			return
		}
		defer func() { <-w.sem }()
		w.callback(ctx, t)
	}()
}

// callback runs one round for t: RESOLVING, POST, delete.
func (w *taskCallbacks) callback(ctx context.Context, t model.Task) {
	log := w.log.With().Str(logKeyTaskGUID, t.TaskGUID).Logger()
	if _, err := w.prop.Propose(ctx, model.ResolvingTask{TaskGUID: t.TaskGUID}); err != nil {
		// Another worker or the consumer got there first, or this node
		// no longer leads.
		log.Debug().Err(err).Msg("cannot mark task resolving")
		return
	}
	body, err := json.Marshal(TaskCallback{TaskGUID: t.TaskGUID, Failed: t.Failed, FailureReason: t.FailureReason,
		Result: t.Result, Annotation: t.Annotation, CreatedAt: t.CreatedAt.UnixNano()})
	if err != nil {
		log.Error().Err(err).Msg("encode callback")
		return
	}
	for try := 1; try <= w.cfg.Tries; try++ {
		if try > 1 && !sleepCtx(ctx, w.cfg.RetryDelay) {
			return
		}
		status, err := w.post(ctx, t.CompletionCallbackURL, body)
		switch {
		case err != nil:
			if ctx.Err() != nil {
				return
			}
			log.Info().Err(err).Int(logKeyTry, try).Msg("task callback failed")
			continue
		case status == http.StatusServiceUnavailable || status == http.StatusGatewayTimeout:
			log.Info().Int(logKeyStatus, status).Int(logKeyTry, try).Msg("task callback deferred")
			continue
		}
		if _, err := w.prop.Propose(ctx, model.DeleteTask{TaskGUID: t.TaskGUID}); err != nil {
			log.Info().Err(err).Msg("cannot delete resolved task")
			return
		}
		log.Info().Int(logKeyStatus, status).Msg("task resolved")
		return
	}
	log.Info().Int(logKeyTry, w.cfg.Tries).Msg("task callback tries exhausted; left resolving")
}

// post sends one callback and returns the answer's status.
func (w *taskCallbacks) post(ctx context.Context, target string, body []byte) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, w.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("callback request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := w.http.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	return resp.StatusCode, nil
}

// sleepCtx waits d; it reports false when ctx ended first.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
