package cell

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are one instance's container usage (spec §8), sampled every
// MetricsInterval.
type Metrics struct {
	// Time is when the sample was taken.
	Time time.Time `json:"time"`
	// CPUPercent is CPU use over the last interval, in percent of one core.
	CPUPercent  float64 `json:"cpu_percent"`
	MemoryBytes uint64  `json:"memory_bytes"`
	MemoryQuota uint64  `json:"memory_quota"`
	DiskBytes   uint64  `json:"disk_bytes"`
	DiskQuota   uint64  `json:"disk_quota"`
	// Age is how long the container has existed.
	Age time.Duration `json:"age"`
}

// Prometheus label names of per-instance metrics.
const (
	labelProcessGUID  = "process_guid"
	labelIndex        = "index"
	labelInstanceGUID = "instance_guid"
)

// cellMetrics holds the cell's collectors. Each Cell has its own, so that
// several cells (one per node of an in-process test cluster) do not clash;
// the node registers them (Cell.Collectors).
type cellMetrics struct {
	containers     prometheus.Gauge
	starts         prometheus.Counter
	crashes        prometheus.Counter
	createFailures prometheus.Counter
	stops          prometheus.Counter
	cpu            *prometheus.GaugeVec
	memory         *prometheus.GaugeVec
	disk           *prometheus.GaugeVec
	logDropped     prometheus.CounterFunc
}

func newCellMetrics(logs *LogStore) *cellMetrics {
	inst := []string{labelProcessGUID, labelIndex, labelInstanceGUID}
	return &cellMetrics{
		containers: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "diegod_cell_containers", Help: "Containers the cell holds (any phase).",
		}),
		starts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "diegod_cell_instance_starts_total", Help: "Instances reported RUNNING (healthy) by the cell.",
		}),
		crashes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "diegod_cell_instance_crashes_total", Help: "Instances reported crashed by the cell.",
		}),
		createFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "diegod_cell_container_create_failures_total", Help: "Container creations that failed.",
		}),
		stops: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "diegod_cell_instance_stops_total", Help: "Instances stopped on request (row removed or moved).",
		}),
		cpu: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "diegod_container_cpu_percent", Help: "Container CPU use over the last interval, percent of one core.",
		}, inst),
		memory: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "diegod_container_memory_bytes", Help: "Container memory use in bytes.",
		}, inst),
		disk: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "diegod_container_disk_bytes", Help: "Container disk use in bytes.",
		}, inst),
		logDropped: prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "diegod_cell_log_lines_dropped_total", Help: "Log lines lost by slow followers.",
		}, func() float64 { return float64(logs.Dropped()) }),
	}
}

func (m *cellMetrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.containers, m.starts, m.crashes, m.createFailures, m.stops,
		m.cpu, m.memory, m.disk, m.logDropped}
}

// sample is the previous Stats reading of an instance, for CPU deltas.
type sample struct {
	at  time.Time
	cpu time.Duration
}

// metricsStore keeps the latest Metrics per instance.
type metricsStore struct {
	mu      sync.Mutex
	latest  map[string]Metrics
	samples map[string]sample
}

func newMetricsStore() *metricsStore {
	return &metricsStore{latest: map[string]Metrics{}, samples: map[string]sample{}}
}

func (s *metricsStore) get(guid string) (Metrics, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.latest[guid]
	return m, ok
}

// record turns a Stats reading into Metrics, the CPU share from the delta
// since the previous reading.
func (s *metricsStore) record(guid string, st Stats, created, now time.Time) Metrics {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := Metrics{
		Time:        now,
		MemoryBytes: st.MemoryBytes,
		MemoryQuota: st.MemoryLimit,
		DiskBytes:   st.DiskBytes,
		DiskQuota:   st.DiskLimit,
	}
	if !created.IsZero() {
		m.Age = now.Sub(created)
	}
	if prev, ok := s.samples[guid]; ok {
		m.CPUPercent = cpuPercent(prev.cpu, st.CPUTime, now.Sub(prev.at))
	}
	s.samples[guid] = sample{at: now, cpu: st.CPUTime}
	s.latest[guid] = m
	return m
}

func (s *metricsStore) forget(guid string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.latest, guid)
	delete(s.samples, guid)
}

// cpuPercent is the CPU time used between two readings over the wall time
// between them, in percent of one core.
func cpuPercent(before, after, wall time.Duration) float64 {
	if wall <= 0 || after < before {
		return 0
	}
	return float64(after-before) / float64(wall) * 100
}

// collectMetrics samples every instance's container once.
func (c *Cell) collectMetrics(ctx context.Context) {
	for _, in := range c.liveInstances() {
		id, created, ok := in.container()
		if !ok {
			continue
		}
		st, err := c.rt.Stats(ctx, id)
		if err != nil {
			c.log.Debug().Err(err).Str(logInstanceGUID, in.guid).Msg("container stats failed")
			continue
		}
		m := c.stats.record(in.guid, st, created, time.Now())
		labels := prometheus.Labels{
			labelProcessGUID: in.key.ProcessGUID, labelIndex: strconv.Itoa(in.key.Index), labelInstanceGUID: in.guid,
		}
		c.metrics.cpu.With(labels).Set(m.CPUPercent)
		c.metrics.memory.With(labels).Set(float64(m.MemoryBytes))
		c.metrics.disk.With(labels).Set(float64(m.DiskBytes))
	}
}

// forgetMetrics drops an instance's figures once it has gone.
func (c *Cell) forgetMetrics(in *instance) {
	c.stats.forget(in.guid)
	labels := prometheus.Labels{
		labelProcessGUID: in.key.ProcessGUID, labelIndex: strconv.Itoa(in.key.Index), labelInstanceGUID: in.guid,
	}
	c.metrics.cpu.Delete(labels)
	c.metrics.memory.Delete(labels)
	c.metrics.disk.Delete(labels)
}

// runMetrics samples every MetricsInterval until ctx ends.
func (c *Cell) runMetrics(ctx context.Context) {
	t := time.NewTicker(c.cfg.MetricsInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			c.collectMetrics(ctx)
		}
	}
}
