package auction_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/diegod/diegod/auction"
	"github.com/diegod/diegod/auction/auctiontest"
	"github.com/diegod/diegod/model"
)

// benchInput builds a realistic cold start: cells of 64 GB / 256 GB / 250
// containers in 3 zones, a quarter of them already half full; apps with
// many instances (128 MB–1 GB) plus a tail of single-instance apps.
func benchInput(cells, bigApps, perApp, singles int) ([]auction.CellView, []auction.Work) {
	cv := auctiontest.NewCells(cells, []string{"z1", "z2", "z3"}, model.Resources{MemoryMB: 64 << 10, DiskMB: 256 << 10, Containers: 250})
	for i := 0; i < cells; i += 4 {
		for j := 0; j < 60; j++ {
			auctiontest.Preload(&cv[i], fmt.Sprintf("old-%d", j), 1, model.Resources{MemoryMB: 512, DiskMB: 1024})
		}
	}
	sizes := []int{128, 256, 512, 1024}
	var work []auction.Work
	for a := 0; a < bigApps; a++ {
		mem := sizes[a%len(sizes)]
		work = append(work, auctiontest.LRPWork(fmt.Sprintf("app-%d", a), perApp, model.Resources{MemoryMB: mem, DiskMB: 1024})...)
	}
	for s := 0; s < singles; s++ {
		work = append(work, auctiontest.LRPWork(fmt.Sprintf("one-%d", s), 1, model.Resources{MemoryMB: 256, DiskMB: 512})...)
	}
	return cv, work
}

func benchPlace(b *testing.B, cells []auction.CellView, work []auction.Work) {
	b.Helper()
	opts := auction.DefaultOptions()
	placed := 0
	for b.Loop() {
		opts.Seed++
		plan := auction.Place(cells, work, opts)
		if len(plan.Failures) != 0 {
			b.Fatalf("%d failures, e.g. %+v", len(plan.Failures), plan.Failures[0])
		}
		placed += len(plan.Placements)
	}
	b.ReportMetric(float64(placed)/b.Elapsed().Seconds(), "placements/s")
}

// BenchmarkPlace10kOn100Cells: 10 000 instances (16 apps × 500 + 2 000
// single-instance apps) on 100 cells.
func BenchmarkPlace10kOn100Cells(b *testing.B) {
	cells, work := benchInput(100, 16, 500, 2000)
	benchPlace(b, cells, work)
}

// BenchmarkPlace100kOn1000Cells: 100 000 instances (80 apps × 1 000 +
// 20 000 single-instance apps) on 1 000 cells.
func BenchmarkPlace100kOn1000Cells(b *testing.B) {
	cells, work := benchInput(1000, 80, 1000, 20000)
	benchPlace(b, cells, work)
}

// BenchmarkConverge100k: one convergence pass over 100 000 rows.
func BenchmarkConverge100k(b *testing.B) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := auction.Snapshot{}
	for c := 0; c < 1000; c++ {
		s.Cells = append(s.Cells, model.Cell{CellID: fmt.Sprintf("cell-%04d", c), State: model.CellAlive})
	}
	s.Cells[0].State = model.CellLost
	for a := 0; a < 100; a++ {
		d := model.DesiredLRP{ProcessGUID: fmt.Sprintf("app-%03d", a), Domain: "default", Instances: 1000, MemoryMB: 128}
		s.Desired = append(s.Desired, d)
		for i := 0; i < 1000; i++ {
			row := model.ActualLRP{ActualLRPKey: model.ActualLRPKey{ProcessGUID: d.ProcessGUID, Index: i, Domain: "default"},
				State: model.StateRunning, Presence: model.PresenceOrdinary, Since: now.Add(-time.Hour)}
			row.CellID = s.Cells[(a*1000+i)%1000].CellID
			if i%97 == 0 {
				row.State, row.CellID, row.CrashCount = model.StateCrashed, "", 4
			}
			s.Actuals = append(s.Actuals, row)
		}
	}
	cfg := auction.ConvergeConfig{StaleUnclaimedDuration: auction.DefaultStaleUnclaimedDuration}
	for b.Loop() {
		res := auction.Converge(s, now, cfg)
		if len(res.Commands) == 0 {
			b.Fatal("no commands")
		}
	}
	b.ReportMetric(float64(len(s.Actuals))*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
