package auction_test

import (
	"fmt"
	"reflect"
	"slices"
	"testing"

	"pgregory.net/rapid"

	"github.com/diegod/diegod/auction"
	"github.com/diegod/diegod/model"
)

func subsetOf(t *rapid.T, label string, of []string) []string {
	var out []string
	for _, s := range of {
		if rapid.Bool().Draw(t, label+"-"+s) {
			out = append(out, s)
		}
	}
	return out
}

func genCells(t *rapid.T) []auction.CellView {
	n := rapid.IntRange(0, 10).Draw(t, "cells")
	cells := make([]auction.CellView, n)
	for i := range cells {
		capacity := model.Resources{
			MemoryMB:   rapid.IntRange(0, 200).Draw(t, "mem"),
			DiskMB:     rapid.IntRange(0, 200).Draw(t, "disk"),
			Containers: rapid.IntRange(0, 8).Draw(t, "containers"),
		}
		alloc := model.Resources{
			MemoryMB:   rapid.IntRange(0, capacity.MemoryMB).Draw(t, "alloc-mem"),
			DiskMB:     rapid.IntRange(0, capacity.DiskMB).Draw(t, "alloc-disk"),
			Containers: rapid.IntRange(0, capacity.Containers).Draw(t, "alloc-containers"),
		}
		inst := map[string]int{}
		for _, g := range subsetOf(t, "inst", []string{"p0", "p1", "p2"}) {
			inst[g] = rapid.IntRange(1, 3).Draw(t, "count")
		}
		cells[i] = auction.CellView{
			Cell: model.Cell{
				CellID:                fmt.Sprintf("c%02d", i),
				Zone:                  rapid.SampledFrom([]string{"za", "zb", "zc"}).Draw(t, "zone"),
				Capacity:              capacity,
				PlacementTags:         subsetOf(t, "req", []string{"t1", "t2"}),
				OptionalPlacementTags: subsetOf(t, "opt", []string{"t2", "t3"}),
				RootFSProviders:       subsetOf(t, "rootfs", []string{"host", "docker"}),
				State:                 rapid.SampledFrom([]model.CellState{model.CellAlive, model.CellAlive, model.CellAlive, model.CellDraining, model.CellLost}).Draw(t, "state"),
			},
			Allocated: alloc,
			Instances: inst,
			Starting:  rapid.IntRange(0, 3).Draw(t, "starting"),
			Tasks:     rapid.IntRange(0, 2).Draw(t, "tasks"),
		}
	}
	return cells
}

func genWork(t *rapid.T) []auction.Work {
	n := rapid.IntRange(0, 40).Draw(t, "work")
	next := map[string]int{}
	work := make([]auction.Work, n)
	for i := range work {
		w := auction.Work{
			Resources:     model.Resources{MemoryMB: rapid.IntRange(0, 60).Draw(t, "wmem"), DiskMB: rapid.IntRange(0, 60).Draw(t, "wdisk"), Containers: 1},
			RootFS:        rapid.SampledFrom([]string{"host", "host", "docker://img", "preloaded:x"}).Draw(t, "wrootfs"),
			PlacementTags: subsetOf(t, "wtags", []string{"t1", "t2", "t3"}),
		}
		if rapid.IntRange(0, 5).Draw(t, "kind") == 0 {
			w.TaskGUID = fmt.Sprintf("task%d", i)
		} else {
			g := rapid.SampledFrom([]string{"p0", "p1", "p2", "p3"}).Draw(t, "guid")
			w.Key = model.ActualLRPKey{ProcessGUID: g, Index: next[g]}
			next[g]++
		}
		work[i] = w
	}
	return work
}

func genOptions(t *rapid.T) auction.Options {
	return auction.Options{
		StartingContainerWeight: rapid.SampledFrom([]float64{0, 0.25, 1}).Draw(t, "sw"),
		BinPackFirstFitWeight:   rapid.SampledFrom([]float64{0, 0.5}).Draw(t, "bp"),
		LocalityOffset:          rapid.SampledFrom([]float64{0, 1000}).Draw(t, "loc"),
		MaxInFlight:             rapid.IntRange(0, 12).Draw(t, "inflight"),
		Seed:                    rapid.Int64().Draw(t, "seed"),
	}
}

func cloneCells(cells []auction.CellView) []auction.CellView {
	if cells == nil {
		return nil
	}
	out := make([]auction.CellView, len(cells))
	for i, c := range cells {
		out[i] = c
		out[i].Instances = map[string]int{}
		for k, v := range c.Instances {
			out[i].Instances[k] = v
		}
	}
	return out
}

func workID(w *auction.Work) string {
	if w.IsTask() {
		return "task:" + w.TaskGUID
	}
	return w.Key.String()
}

// TestPlaceProperties checks Place's invariants on random inputs.
func TestPlaceProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		cells := genCells(t)
		work := genWork(t)
		opts := genOptions(t)
		cellsBefore, workBefore := cloneCells(cells), slices.Clone(work)

		plan := auction.Place(cells, work, opts)

		if !reflect.DeepEqual(cells, cellsBefore) || !reflect.DeepEqual(work, workBefore) {
			t.Fatalf("Place modified its inputs")
		}

		// Every item placed or failed, exactly once, with a reason.
		seen := map[string]int{}
		byID := map[string]auction.Work{}
		for i := range work {
			byID[workID(&work[i])] = work[i]
		}
		for _, p := range plan.Placements {
			w := auction.Work{Key: p.Key, TaskGUID: p.TaskGUID}
			seen[workID(&w)]++
		}
		for _, f := range plan.Failures {
			seen[workID(&f.Work)]++
			if f.Failure.Code == "" || f.Failure.Detail == "" {
				t.Fatalf("failure without a reason: %+v", f)
			}
		}
		if len(seen) != len(byID) {
			t.Fatalf("plan covers %d items, want %d", len(seen), len(byID))
		}
		for id, n := range seen {
			if n != 1 {
				t.Fatalf("%s appears %d times", id, n)
			}
			if _, ok := byID[id]; !ok {
				t.Fatalf("%s is not in the work", id)
			}
		}

		// No cell over-committed; placements only on compatible ALIVE cells.
		cellByID := map[string]*auction.CellView{}
		for i := range cells {
			cellByID[cells[i].CellID] = &cells[i]
		}
		used := map[string]model.Resources{}
		for _, p := range plan.Placements {
			c := cellByID[p.CellID]
			if c == nil || !c.Schedulable() {
				t.Fatalf("placed on %q which is not schedulable", p.CellID)
			}
			tmp := auction.Work{Key: p.Key, TaskGUID: p.TaskGUID}
			w := byID[workID(&tmp)]
			if !c.SupportsRootFS(w.RootFS) || !c.MatchesPlacementTags(w.PlacementTags) {
				t.Fatalf("%s placed on incompatible %s", workID(&w), c.CellID)
			}
			used[p.CellID] = used[p.CellID].Add(model.Resources{MemoryMB: w.Resources.MemoryMB, DiskMB: w.Resources.DiskMB, Containers: 1})
		}
		for id, u := range used {
			c := cellByID[id]
			if !c.Capacity.Fits(c.Allocated.Add(u)) {
				t.Fatalf("cell %s over-committed: capacity %+v, allocated %+v + placed %+v", id, c.Capacity, c.Allocated, u)
			}
		}
		if opts.MaxInFlight > 0 {
			starting := 0
			for i := range cells {
				if cells[i].Schedulable() {
					starting += cells[i].Starting
				}
			}
			if len(plan.Placements) > 0 && starting+len(plan.Placements) > max(opts.MaxInFlight, starting) {
				t.Fatalf("in flight %d + %d placed > cap %d", starting, len(plan.Placements), opts.MaxInFlight)
			}
		}

		// Same input and seed → same plan; the order of cells and work
		// does not matter.
		if again := auction.Place(cells, work, opts); !reflect.DeepEqual(plan, again) {
			t.Fatalf("second run differs:\n%+v\n%+v", plan, again)
		}
		pc := rapid.Permutation(cloneCells(cells)).Draw(t, "perm-cells")
		pw := rapid.Permutation(slices.Clone(work)).Draw(t, "perm-work")
		permuted := auction.Place(pc, pw, opts)
		if !reflect.DeepEqual(plan, permuted) {
			t.Fatalf("permuted input gives another plan:\n%+v\n%+v", plan, permuted)
		}
	})
}
