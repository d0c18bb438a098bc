package node

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/diegod/diegod/model"
)

// BenchmarkThousandTasks measures one node with the fake runtime from
// submitting 1,000 tasks at once (64 API requests in flight) to all of
// them COMPLETED.
func BenchmarkThousandTasks(b *testing.B) {
	const n = 1000
	cfg := DefaultConfig()
	cfg.NodeName = "bench"
	cfg.DataDir = b.TempDir()
	cfg.Runtime = RuntimeFake
	cfg.Dev = true
	cfg.APIPort, cfg.RaftPort, cfg.GossipPort, cfg.RouterPort = 0, 0, 0, 0
	cfg.MemoryMB, cfg.DiskMB, cfg.MaxContainers = 1<<20, 1<<20, 2*n
	tn := startTaskNode(b, cfg)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		prefix := fmt.Sprintf("bench-%d", i)
		start := time.Now()
		submitTasks(b, tn, prefix, n, nil)
		submitted := time.Since(start)
		waitFor(b, 2*time.Minute, "1,000 completed tasks", func() bool {
			done := 0
			for _, t := range tn.Store().View().Tasks() {
				if t.State == model.TaskCompleted && strings.HasPrefix(t.TaskGUID, prefix+"-") {
					if t.Failed {
						b.Fatalf("task %s failed: %s", t.TaskGUID, t.FailureReason)
					}
					done++
				}
			}
			return done == n
		})
		b.ReportMetric(time.Since(start).Seconds(), "s/1000-tasks")
		b.ReportMetric(submitted.Seconds(), "s-submit/1000-tasks")
		b.StopTimer()
		waitFor(b, time.Minute, "no containers", func() bool { return tn.fake().Len() == 0 })
		b.StartTimer()
	}
}
