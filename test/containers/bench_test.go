package containers

import (
	"context"
	"testing"
	"time"
)

// BenchmarkSubmit100HTTPServers measures submit → 100 instances of
// python's http.server RUNNING and healthy (port check) on one node with
// real containers (design target: under 3 s on 2 cores).
func BenchmarkSubmit100HTTPServers(b *testing.B) {
	needRoot(b)
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		cfg := nodeConfig(b.TempDir())
		cfg.MemoryMB = 16384
		rn := startNode(b, cfg)
		lrp := httpServerLRP("bench", 100)
		lrp.MemoryMB = 64
		lrp.HealthCheck = nil // the default: a port check on the first port
		b.StartTimer()
		start := time.Now()
		if _, err := rn.client.Submit(context.Background(), lrp); err != nil {
			b.Fatal(err)
		}
		deadline := time.Now().Add(5 * time.Minute)
		for {
			st, err := rn.client.Status(context.Background(), "bench", 0, 0)
			if err == nil && len(running(st)) == 100 {
				break
			}
			if time.Now().After(deadline) {
				b.Fatal("100 instances not running after 5 minutes")
			}
			time.Sleep(20 * time.Millisecond)
		}
		b.ReportMetric(time.Since(start).Seconds(), "s/100-running")
		b.StopTimer()
		rn.shutdown(b)
	}
}
