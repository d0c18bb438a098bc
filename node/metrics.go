package node

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/diegod/diegod/auction"
	"github.com/diegod/diegod/model"
)

// auctionMetrics exports the leader's auction and convergence figures
// (auction.Metrics names them) to Prometheus.
type auctionMetrics struct {
	runs, work, placements, convergeRuns, convergeCommands, convergeRejections prometheus.Counter
	failures                                                                   *prometheus.CounterVec
	placeDuration, convergeDuration                                            prometheus.Histogram
	gauges                                                                     map[string]prometheus.Gauge
}

var _ auction.Recorder = (*auctionMetrics)(nil)

// newAuctionMetrics registers every metric of auction.Metrics on reg.
func newAuctionMetrics(reg prometheus.Registerer) (*auctionMetrics, error) {
	m := &auctionMetrics{gauges: map[string]prometheus.Gauge{}}
	counters := map[string]*prometheus.Counter{
		"diegod_auction_runs_total":        &m.runs,
		"diegod_auction_work_total":        &m.work,
		"diegod_auction_placements_total":  &m.placements,
		"diegod_converge_runs_total":       &m.convergeRuns,
		"diegod_converge_commands_total":   &m.convergeCommands,
		"diegod_converge_rejections_total": &m.convergeRejections,
	}
	histograms := map[string]*prometheus.Histogram{
		"diegod_auction_place_duration_seconds": &m.placeDuration,
		"diegod_converge_duration_seconds":      &m.convergeDuration,
	}
	for _, d := range auction.Metrics {
		var c prometheus.Collector
		switch {
		case d.Name == "diegod_auction_failures_total":
			m.failures = prometheus.NewCounterVec(prometheus.CounterOpts{Name: d.Name, Help: d.Help}, []string{"code"})
			c = m.failures
		case counters[d.Name] != nil:
			*counters[d.Name] = prometheus.NewCounter(prometheus.CounterOpts{Name: d.Name, Help: d.Help})
			c = *counters[d.Name]
		case histograms[d.Name] != nil:
			*histograms[d.Name] = prometheus.NewHistogram(prometheus.HistogramOpts{Name: d.Name, Help: d.Help,
				Buckets: prometheus.ExponentialBuckets(0.0001, 4, 10)})
			c = *histograms[d.Name]
		case d.Kind == "gauge":
			g := prometheus.NewGauge(prometheus.GaugeOpts{Name: d.Name, Help: d.Help})
			m.gauges[d.Name] = g
			c = g
		default:
			continue
		}
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// AuctionDone implements auction.Recorder.
func (m *auctionMetrics) AuctionDone(s auction.AuctionStats) {
	m.runs.Inc()
	m.work.Add(float64(s.Work))
	m.placements.Add(float64(s.Placements))
	m.placeDuration.Observe(s.Duration.Seconds())
	for code, n := range s.Failures {
		m.failures.WithLabelValues(string(code)).Add(float64(n))
	}
}

// ConvergeDone implements auction.Recorder.
func (m *auctionMetrics) ConvergeDone(s auction.ConvergeRunStats) {
	m.convergeRuns.Inc()
	m.convergeCommands.Add(float64(s.Commands))
	m.convergeRejections.Add(float64(s.Rejected))
	m.convergeDuration.Observe(s.Duration.Seconds())
	st := s.Stats
	for name, v := range map[string]int{
		"diegod_lrps_desired": st.Desired, "diegod_lrps_running": st.Running, "diegod_lrps_claimed": st.Claimed,
		"diegod_lrps_unclaimed": st.Unclaimed, "diegod_lrps_crashed": st.Crashed, "diegod_lrps_missing": st.Missing,
		"diegod_lrps_extra": st.Extra, "diegod_lrps_suspect": st.Suspect, "diegod_present_cells": st.PresentCells,
	} {
		if g := m.gauges[name]; g != nil {
			g.Set(float64(v))
		}
	}
}

// ProposalFailed implements auction.Recorder; rejections are counted per
// pass in ConvergeDone.
func (m *auctionMetrics) ProposalFailed(string, model.Code) {}
