package raftstore

import (
	"github.com/diegod/diegod/model"
	"github.com/prometheus/client_golang/prometheus"
)

// Recorder receives the store's metrics. Implementations must be safe for
// concurrent use and cheap: they are called on the apply path.
type Recorder interface {
	// CommandApplied counts a command that changed (or validly left) the
	// state, by command name.
	CommandApplied(command string)
	// CommandRejected counts a business rejection, by command name and code.
	CommandRejected(command string, code model.Code)
	// EntryApplied observes the number of commands in one applied entry.
	EntryApplied(commands int)
	// BatchProposed observes the number of commands group commit put in one
	// proposed entry.
	BatchProposed(commands int)
	// ClaimsSkipped counts stale placements and failures a ClaimBatch
	// skipped.
	ClaimsSkipped(n int)
}

// NopRecorder records nothing.
type NopRecorder struct{}

var _ Recorder = NopRecorder{}

// CommandApplied implements Recorder.
func (NopRecorder) CommandApplied(string) {}

// CommandRejected implements Recorder.
func (NopRecorder) CommandRejected(string, model.Code) {}

// EntryApplied implements Recorder.
func (NopRecorder) EntryApplied(int) {}

// BatchProposed implements Recorder.
func (NopRecorder) BatchProposed(int) {}

// ClaimsSkipped implements Recorder.
func (NopRecorder) ClaimsSkipped(int) {}

// batchBuckets are the histogram buckets for commands per entry (1..1024).
var batchBuckets = prometheus.ExponentialBuckets(1, 2, 11)

// PrometheusRecorder records the store metrics as Prometheus collectors:
//
//	diegod_raftstore_commands_applied_total{command}      counter
//	diegod_raftstore_commands_rejected_total{command,code} counter
//	diegod_raftstore_entry_commands                        histogram (commands per applied entry)
//	diegod_raftstore_proposed_batch_commands               histogram (commands per proposed entry)
//	diegod_raftstore_claims_skipped_total                  counter (stale placements)
type PrometheusRecorder struct {
	applied  *prometheus.CounterVec
	rejected *prometheus.CounterVec
	entry    prometheus.Histogram
	proposed prometheus.Histogram
	skipped  prometheus.Counter
}

var _ Recorder = (*PrometheusRecorder)(nil)

// NewPrometheusRecorder creates the collectors and registers them with reg
// (nil: not registered).
func NewPrometheusRecorder(reg prometheus.Registerer) (*PrometheusRecorder, error) {
	r := &PrometheusRecorder{
		applied: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "diegod", Subsystem: "raftstore", Name: "commands_applied_total",
			Help: "Commands applied to the state, by command.",
		}, []string{"command"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "diegod", Subsystem: "raftstore", Name: "commands_rejected_total",
			Help: "Commands rejected by the state machine, by command and error code.",
		}, []string{"command", "code"}),
		entry: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "diegod", Subsystem: "raftstore", Name: "entry_commands",
			Help: "Commands per applied Raft log entry.", Buckets: batchBuckets,
		}),
		proposed: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "diegod", Subsystem: "raftstore", Name: "proposed_batch_commands",
			Help: "Commands per Raft log entry proposed by group commit on this node.", Buckets: batchBuckets,
		}),
		skipped: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "diegod", Subsystem: "raftstore", Name: "claims_skipped_total",
			Help: "Stale placements and failures skipped by ClaimBatch.",
		}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{r.applied, r.rejected, r.entry, r.proposed, r.skipped} {
			if err := reg.Register(c); err != nil {
				return nil, err
			}
		}
	}
	return r, nil
}

// CommandApplied implements Recorder.
func (r *PrometheusRecorder) CommandApplied(command string) { r.applied.WithLabelValues(command).Inc() }

// CommandRejected implements Recorder.
func (r *PrometheusRecorder) CommandRejected(command string, code model.Code) {
	r.rejected.WithLabelValues(command, string(code)).Inc()
}

// EntryApplied implements Recorder.
func (r *PrometheusRecorder) EntryApplied(commands int) { r.entry.Observe(float64(commands)) }

// BatchProposed implements Recorder.
func (r *PrometheusRecorder) BatchProposed(commands int) { r.proposed.Observe(float64(commands)) }

// ClaimsSkipped implements Recorder.
func (r *PrometheusRecorder) ClaimsSkipped(n int) { r.skipped.Add(float64(n)) }
