package raftstore

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/diegod/diegod/model"
	"github.com/hashicorp/raft"
	"github.com/rs/zerolog"
)

// claimedFSM returns an FSM with one cell and rows CLAIMED instances of
// "app" on it, and the next free log index.
func claimedFSM(b *testing.B, rows int) (*FSM, uint64) {
	b.Helper()
	f := NewFSM(nil, nil, zerolog.Nop())
	c := cell("big", rows*128)
	c.Capacity.Containers = rows
	idx := uint64(1)
	f.Apply(makeLog(b, idx, t0, model.UpsertCell{Cell: c}, model.DesireLRP{LRP: lrp("app", rows)}))
	batch := model.ClaimBatch{}
	for i := 0; i < rows; i++ {
		batch.Placements = append(batch.Placements, model.Placement{Key: key("app", i), InstanceKey: ikey(fmt.Sprintf("i%d", i), "big")})
	}
	idx++
	f.Apply(makeLog(b, idx, t0, batch))
	if got := f.View().CellAllocations()["big"].Containers; got != rows {
		b.Fatalf("claimed %d of %d", got, rows)
	}
	return f, idx + 1
}

// BenchmarkFSMApply measures ApplyBatch throughput: entries of 1,024
// StartActualLRP transitions over 10,000 rows (CLAIMED -> RUNNING, then
// RUNNING with new net info), decoding included.
func BenchmarkFSMApply(b *testing.B) {
	const rows, perEntry = 10000, 1024
	f, idx := claimedFSM(b, rows)
	// Pre-encode two rounds of entries that alternate the host port, so
	// every command is a real change.
	var entries [][]byte
	for round := 0; round < 2; round++ {
		for start := 0; start < rows; start += perEntry {
			var cmds []model.Command
			for i := start; i < start+perEntry && i < rows; i++ {
				cmds = append(cmds, model.StartActualLRP{Key: key("app", i), InstanceKey: ikey(fmt.Sprintf("i%d", i), "big"),
					NetInfo: netInfo("10.0.0.1", uint16(61000+round))})
			}
			data, err := Encode(t0, cmds...)
			if err != nil {
				b.Fatal(err)
			}
			entries = append(entries, data)
		}
	}
	var transitions int
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		data := entries[i%len(entries)]
		out := f.ApplyBatch([]*raft.Log{{Index: idx, Type: raft.LogCommand, Data: data}})
		idx++
		for _, err := range out[0].(entryResult) {
			if err != nil {
				b.Fatal(err)
			}
		}
		transitions += len(out[0].(entryResult))
	}
	b.ReportMetric(float64(transitions)/b.Elapsed().Seconds(), "transitions/s")
}

// BenchmarkClaimBatch measures one ClaimBatch of 5,000 placements on one
// cell (the capacity re-check must stay linear).
func BenchmarkClaimBatch(b *testing.B) {
	const n = 5000
	var placements int
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		f := NewFSM(nil, nil, zerolog.Nop())
		c := cell("big", n*128)
		c.Capacity.Containers = n
		f.Apply(makeLog(b, 1, t0, model.UpsertCell{Cell: c}, model.DesireLRP{LRP: lrp("app", n)}))
		batch := model.ClaimBatch{}
		for j := 0; j < n; j++ {
			batch.Placements = append(batch.Placements, model.Placement{Key: key("app", j), InstanceKey: ikey(fmt.Sprintf("i%d", j), "big")})
		}
		data, err := Encode(t0, batch)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		f.ApplyBatch([]*raft.Log{{Index: 2, Type: raft.LogCommand, Data: data}})
		placements += n
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/batch")
	b.ReportMetric(float64(placements)/b.Elapsed().Seconds(), "placements/s")
}

// BenchmarkPropose measures concurrent Propose on a single-node store on
// disk (bbolt log with fsync, file snapshots) with group commit: each
// operation is one StartActualLRP transition proposed by one of many
// concurrent callers.
func BenchmarkPropose(b *testing.B) {
	const rows = 10000
	s := openStore(b, diskConfig(b.TempDir()))
	c := cell("big", rows*128)
	c.Capacity.Containers = rows
	propose(b, s, model.UpsertCell{Cell: c}, model.DesireLRP{LRP: lrp("app", rows)})
	for start := 0; start < rows; start += 1000 {
		batch := model.ClaimBatch{}
		for i := start; i < start+1000; i++ {
			batch.Placements = append(batch.Placements, model.Placement{Key: key("app", i), InstanceKey: ikey(fmt.Sprintf("i%d", i), "big")})
		}
		propose(b, s, batch)
	}
	first := s.AppliedIndex()
	var counter atomic.Int64
	b.SetParallelism(256)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			n := int(counter.Add(1))
			i := n % rows
			cmd := model.StartActualLRP{Key: key("app", i), InstanceKey: ikey(fmt.Sprintf("i%d", i), "big"),
				NetInfo: netInfo("10.0.0.1", uint16(61000+(n/rows)%2))}
			if _, err := s.Propose(ctx, cmd); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	entries := s.AppliedIndex() - first
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "transitions/s")
	if entries > 0 {
		b.ReportMetric(float64(b.N)/float64(entries), "commands/entry")
	}
}

// BenchmarkDecodeClaimBatch measures decoding one envelope holding a
// ClaimBatch of 5,000 placements (part of BenchmarkClaimBatch's figure).
func BenchmarkDecodeClaimBatch(b *testing.B) {
	batch := model.ClaimBatch{}
	for j := 0; j < 5000; j++ {
		batch.Placements = append(batch.Placements, model.Placement{Key: key("app", j), InstanceKey: ikey(fmt.Sprintf("i%d", j), "big")})
	}
	data, err := Encode(t0, batch)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := Decode(data); err != nil {
			b.Fatal(err)
		}
	}
}
