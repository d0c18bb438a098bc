package cell_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/diegod/diegod/cell"
	"github.com/diegod/diegod/cell/celltest"
	"github.com/diegod/diegod/model"
	"github.com/rs/zerolog"
)

// BenchmarkDiff measures one reconcile pass over a full cell: 250 assigned
// rows, 250 held instances, a tenth of them changing.
func BenchmarkDiff(b *testing.B) {
	const n = model.DefaultMaxContainers
	desired := map[string]model.DesiredLRP{}
	var rows []model.ActualLRP
	observed := map[string]cell.Observed{}
	for i := 0; i < n; i++ {
		guid := fmt.Sprintf("lrp-%d", i%25)
		desired[guid] = model.DesiredLRP{ProcessGUID: guid}
		r := claimed(guid, i, fmt.Sprintf("inst-%d", i))
		if i%10 != 0 {
			observed[r.InstanceGUID] = cell.Observed{Key: r.ActualLRPKey, InstanceGUID: r.InstanceGUID}
		}
		rows = append(rows, r)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if plan := cell.Diff(rows, desired, observed, cellID); len(plan) != n/10 {
			b.Fatalf("plan: %d actions", len(plan))
		}
	}
}

// BenchmarkLogStoreAppend measures AppendLog with two followers.
func BenchmarkLogStoreAppend(b *testing.B) {
	s := cell.NewLogStore(cell.DefaultLogConfig())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for i := 0; i < 2; i++ {
		ch := s.Follow(ctx, "web")
		go func() {
			for range ch {
			}
		}()
	}
	line := model.LogLine{ProcessGUID: "web", InstanceGUID: "i0", Source: model.LogSourceApp, Stream: model.StreamOut,
		Text: "GET /index.html 200 0.4ms some typical access log text"}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s.AppendLog(line)
	}
	b.ReportMetric(float64(s.Dropped())/float64(2*b.N)*100, "%dropped")
}

// BenchmarkCellStart measures, on the fake runtime, the time from 50
// CLAIMED rows appearing to all 50 StartActualLRP reports (port health
// check, 5 ms startup interval).
func BenchmarkCellStart(b *testing.B) {
	const n = 50
	for i := 0; i < b.N; i++ {
		rt, src, rep := celltest.NewFakeRuntime(), celltest.NewFakeSource(), celltest.NewFakeReporter()
		c, err := cell.New(testConfig(), rt, src, rep, zerolog.Nop())
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- c.Run(ctx) }()
		var rows []model.ActualLRP
		for j := 0; j < n; j++ {
			rows = append(rows, claimed("web", j, fmt.Sprintf("i-%d", j)))
		}
		start := time.Now()
		src.Set(rows, lrp("web", nil, nil))
		for len(celltest.CommandsOf[model.StartActualLRP](rep)) < n {
			time.Sleep(time.Millisecond)
		}
		b.ReportMetric(float64(time.Since(start).Milliseconds()), "ms/50-starts")
		cancel()
		<-done
	}
}
