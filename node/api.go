package node

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"

	"github.com/diegod/diegod/model"
	"github.com/diegod/diegod/raftstore"
	"github.com/diegod/diegod/routing"
)

// maxBlockingWait bounds a blocking query (?index=N&wait=D).
const maxBlockingWait = 5 * time.Minute

// logSource is what the API needs from the cell's log buffer.
type logSource interface {
	Recent(processGUID string) []model.LogLine
	Follow(ctx context.Context, processGUID string) <-chan model.LogLine
}

// metricsSource returns the last container metrics of a local instance.
type metricsSource interface {
	InstanceMetrics(instanceGUID string) (InstanceMetrics, bool)
}

// proposer writes to the replicated state (locally on the leader, forwarded
// otherwise).
type proposer interface {
	Propose(ctx context.Context, cmd model.Command) (uint64, error)
}

// api serves the HTTP API under /v1 plus /healthz, /readyz and /metrics.
type api struct {
	store     *raftstore.Store
	prop      proposer
	logs      logSource
	metrics   metricsSource
	members   func() []Member
	routes    func() []routing.Route
	hasLeader func() bool
	cellID    string // this node's cell, which must be registered for /readyz
	token     string
	maxBody   int64
	registry  *prometheus.Registry
	log       zerolog.Logger
	// cluster adds the cluster endpoints (join, token, drain, members,
	// snapshot, internal) and consistent reads; nil serves neither.
	cluster clusterRoutes
}

func (a *api) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, map[string]string{"status": "ok"}) })
	mux.HandleFunc("GET /readyz", a.readyz)
	mux.Handle("GET /metrics", promhttp.HandlerFor(a.registry, promhttp.HandlerOpts{}))
	v1 := http.NewServeMux()
	v1.HandleFunc("POST /v1/lrps", a.desireLRP)
	v1.HandleFunc("GET /v1/lrps", a.listLRPs)
	v1.HandleFunc("GET /v1/lrps/{guid}", a.getLRP)
	v1.HandleFunc("PATCH /v1/lrps/{guid}", a.updateLRP)
	v1.HandleFunc("DELETE /v1/lrps/{guid}", a.removeLRP)
	v1.HandleFunc("GET /v1/cells", a.listCells)
	v1.HandleFunc("GET /v1/members", a.listMembers)
	v1.HandleFunc("GET /v1/routes", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, http.StatusOK, a.routes()) })
	v1.HandleFunc("GET /v1/events", a.events)
	v1.HandleFunc("GET /v1/logs/{guid}", a.streamLogs)
	a.registerTaskRoutes(v1)
	if a.cluster != nil {
		a.cluster.register(mux, v1)
	}
	mux.Handle("/v1/", a.authenticate(a.consistentReads(v1)))
	return mux
}

func (a *api) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a.token != "" {
			got := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
			if subtle.ConstantTimeCompare([]byte(got), []byte(a.token)) != 1 {
				writeError(w, model.Errorf(model.CodeUnauthorized, "missing or wrong operator token (set --token or DIEGOD_TOKEN)"))
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

func (a *api) readyz(w http.ResponseWriter, r *http.Request) {
	if !a.hasLeader() {
		writeError(w, model.Errorf(model.CodeUnavailable, "no raft leader known"))
		return
	}
	// Ready means this node can take work: its cell is registered in the
	// replicated state (a submit right after start would otherwise find no
	// cell and fail placement).
	if c, ok := a.store.View().Cell(a.cellID); a.cellID != "" && (!ok || !c.Present()) {
		writeError(w, model.Errorf(model.CodeUnavailable, "cell %s is not registered yet", a.cellID))
		return
	}
	writeJSON(w, 200, map[string]any{"status": "ready", "index": a.store.AppliedIndex()})
}

// decodeBody decodes a JSON body strictly: unknown fields, trailing data and
// oversize bodies are refused.
func (a *api) decodeBody(w http.ResponseWriter, r *http.Request, v any) error {
	r.Body = http.MaxBytesReader(w, r.Body, a.maxBody)
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return model.Errorf(model.CodeRequestTooLarge, "request body is larger than %d bytes", a.maxBody)
		}
		return model.Errorf(model.CodeInvalidRequest, "invalid JSON body: %v", err)
	}
	if dec.More() {
		return model.Errorf(model.CodeInvalidRequest, "invalid JSON body: data after the object")
	}
	return nil
}

// blockingView waits, when the request has ?index=N, until the applied
// index passes N (or ?wait=D, default 30 s, runs out), then returns a View.
func (a *api) blockingView(r *http.Request) *raftstore.View {
	if s := r.URL.Query().Get("index"); s != "" {
		if idx, err := strconv.ParseUint(s, 10, 64); err == nil {
			wait := 30 * time.Second
			if d, err := time.ParseDuration(r.URL.Query().Get("wait")); err == nil && d > 0 {
				wait = min(d, maxBlockingWait)
			}
			ctx, cancel := context.WithTimeout(r.Context(), wait)
			_ = a.store.WaitIndex(ctx, idx+1)
			cancel()
		}
	}
	return a.store.View()
}

var codeStatus = map[model.Code]int{
	model.CodeInvalidRequest:     http.StatusBadRequest,
	model.CodeNotFound:           http.StatusNotFound,
	model.CodeResourceExists:     http.StatusConflict,
	model.CodeInvalidTransition:  http.StatusConflict,
	model.CodeInsufficientRes:    http.StatusConflict,
	model.CodeStale:              http.StatusConflict,
	model.CodeUnauthorized:       http.StatusUnauthorized,
	model.CodeNotLeader:          http.StatusServiceUnavailable,
	model.CodeUnavailable:        http.StatusServiceUnavailable,
	model.CodeRequestTooLarge:    http.StatusRequestEntityTooLarge,
	model.CodeUnsupportedCommand: http.StatusBadRequest,
}

func writeError(w http.ResponseWriter, err error) {
	var me *model.Error
	if !errors.As(err, &me) {
		me = &model.Error{Code: model.CodeInternal, Message: err.Error()}
	}
	status, ok := codeStatus[me.Code]
	if !ok {
		status = http.StatusInternalServerError
	}
	writeJSON(w, status, ErrorBody{Error: *me})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	_ = enc.Encode(v)
}
