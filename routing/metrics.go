package routing

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Recorder receives the router's measurements. The package records through
// it; NopRecorder discards, Metrics exports to Prometheus.
type Recorder interface {
	// Request counts one finished client request by its status code.
	Request(status int)
	// BackendLatency observes the time from the start of the attempt (of
	// the request, for the first attempt) until the backend's response
	// headers arrived.
	BackendLatency(d time.Duration)
	// Retry counts one attempt that failed and was retried elsewhere.
	Retry()
	// TableBuilt reports a new table: its routes, endpoints and the time to
	// read the snapshot and build it.
	TableBuilt(routes, endpoints int, d time.Duration)
}

// NopRecorder discards every measurement.
type NopRecorder struct{}

// Request implements Recorder.
func (NopRecorder) Request(int) {}

// BackendLatency implements Recorder.
func (NopRecorder) BackendLatency(time.Duration) {}

// Retry implements Recorder.
func (NopRecorder) Retry() {}

// TableBuilt implements Recorder.
func (NopRecorder) TableBuilt(int, int, time.Duration) {}

var (
	_ Recorder = NopRecorder{}
	_ Recorder = (*Metrics)(nil)
)

// Metrics is the Prometheus Recorder. Names:
//
//	diegod_router_requests_total{code="1xx".."5xx"}   counter, client requests by status class
//	diegod_router_backend_latency_seconds             histogram, send to response headers
//	diegod_router_retries_total                       counter, attempts retried elsewhere
//	diegod_router_routes                              gauge, routes in the table
//	diegod_router_endpoints                           gauge, (route, endpoint) pairs
//	diegod_router_table_build_seconds                 histogram, snapshot read + build
type Metrics struct {
	requests  [6]prometheus.Counter // index status/100; 0 = other
	latency   prometheus.Histogram
	retries   prometheus.Counter
	routes    prometheus.Gauge
	endpoints prometheus.Gauge
	build     prometheus.Histogram
}

// NewMetrics creates the router metrics and registers them on reg (nil:
// not registered).
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	reqs := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "diegod", Subsystem: "router", Name: "requests_total",
		Help: "Client requests served by the router, by status class.",
	}, []string{"code"})
	m := &Metrics{
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "diegod", Subsystem: "router", Name: "backend_latency_seconds",
			Help:    "Time from the start of the backend attempt until its response headers, in seconds.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}),
		retries: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "diegod", Subsystem: "router", Name: "retries_total",
			Help: "Backend attempts that failed before the app saw the request and were retried.",
		}),
		routes: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "diegod", Subsystem: "router", Name: "routes",
			Help: "Routes (hostnames) in the route table.",
		}),
		endpoints: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "diegod", Subsystem: "router", Name: "endpoints",
			Help: "Route endpoints (route, instance pairs) in the route table.",
		}),
		build: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "diegod", Subsystem: "router", Name: "table_build_seconds",
			Help:    "Time to read a snapshot and build the route table, in seconds.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 4, 9),
		}),
	}
	for i, class := range []string{"other", "1xx", "2xx", "3xx", "4xx", "5xx"} {
		m.requests[i] = reqs.WithLabelValues(class)
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{reqs, m.latency, m.retries, m.routes, m.endpoints, m.build} {
			if err := reg.Register(c); err != nil {
				return nil, err
			}
		}
	}
	return m, nil
}

// Request implements Recorder.
func (m *Metrics) Request(status int) {
	class := status / 100
	if class < 1 || class > 5 {
		class = 0
	}
	m.requests[class].Inc()
}

// BackendLatency implements Recorder.
func (m *Metrics) BackendLatency(d time.Duration) { m.latency.Observe(d.Seconds()) }

// Retry implements Recorder.
func (m *Metrics) Retry() { m.retries.Inc() }

// TableBuilt implements Recorder.
func (m *Metrics) TableBuilt(routes, endpoints int, d time.Duration) {
	m.routes.Set(float64(routes))
	m.endpoints.Set(float64(endpoints))
	m.build.Observe(d.Seconds())
}
