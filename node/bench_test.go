package node

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/diegod/diegod/model"
)

// BenchmarkSubmitToRunning measures one node with the fake runtime from
// submit to every instance RUNNING (design target: 5,000 in under 5 s).
func BenchmarkSubmitToRunning(b *testing.B) {
	for _, n := range []int{1000, 5000} {
		b.Run(fmt.Sprintf("instances=%d", n), func(b *testing.B) {
			cfg := DefaultConfig()
			cfg.NodeName = "bench"
			cfg.DataDir = b.TempDir()
			cfg.Runtime = RuntimeFake
			cfg.APIPort, cfg.RaftPort, cfg.GossipPort, cfg.RouterPort = 0, 0, 0, 0
			cfg.MemoryMB, cfg.DiskMB, cfg.MaxContainers = 1<<20, 1<<20, 2*n
			tn := startNode(b, cfg)
			ctx := context.Background()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				guid := fmt.Sprintf("bench-%d", i)
				lrp := model.DesiredLRP{ProcessGUID: guid, Instances: n, MemoryMB: 1, DiskMB: 1,
					Action: &model.Action{Run: &model.RunAction{Path: "/bin/fake"}}}
				start := time.Now()
				res, err := tn.client.Submit(ctx, lrp)
				if err != nil {
					b.Fatal(err)
				}
				idx := res.Index
				for {
					st, err := tn.client.Status(ctx, guid, idx, 10*time.Second)
					if err != nil {
						b.Fatal(err)
					}
					idx = st.Index
					running := 0
					for _, in := range st.Instances {
						if in.State == model.StateRunning {
							running++
						}
					}
					if running == n {
						break
					}
				}
				b.ReportMetric(time.Since(start).Seconds(), "s/submit")
				b.StopTimer()
				if _, err := tn.client.Delete(ctx, guid); err != nil {
					b.Fatal(err)
				}
				waitFor(b, time.Minute, "no containers", func() bool { return tn.fake().Len() == 0 })
				b.StartTimer()
			}
		})
	}
}
