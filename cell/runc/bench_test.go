package runc

import (
	"context"
	"fmt"
	"os/exec"
	"sort"
	"testing"
	"time"

	"github.com/diegod/diegod/cell"
)

// BenchmarkCreateStartExit measures a container's whole life: Create (rootfs,
// netns, veth, NAT rule, cgroups, pause init), Run /bin/true, Wait, Destroy.
// It reports the mean and the median in ms/op, and the phases' medians.
//
//	go test -run '^$' -bench CreateStartExit -benchtime 50x ./cell/runc/
func BenchmarkCreateStartExit(b *testing.B) {
	needRoot(b)
	r := newTestRuntime(b, testConfig(b))
	ctx := context.Background()
	var total, create, run, destroy []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		id := fmt.Sprintf("bench-%d", i)
		t0 := time.Now()
		if _, err := r.Create(ctx, cell.ContainerSpec{ID: id, Ports: []uint16{8080}, Limits: cell.Limits{MemoryMB: 64, MaxPids: 64}}); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		p, err := r.Run(ctx, id, cell.ProcessSpec{Path: "/bin/true"})
		if err != nil {
			b.Fatal(err)
		}
		if st, err := p.Wait(ctx); err != nil || st.Code != 0 {
			b.Fatalf("true: %+v %v", st, err)
		}
		t2 := time.Now()
		if err := r.Destroy(ctx, id); err != nil {
			b.Fatal(err)
		}
		t3 := time.Now()
		total = append(total, t3.Sub(t0))
		create = append(create, t1.Sub(t0))
		run = append(run, t2.Sub(t1))
		destroy = append(destroy, t3.Sub(t2))
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/op")
	b.ReportMetric(median(total), "median-ms/op")
	b.ReportMetric(median(create), "create-ms")
	b.ReportMetric(median(run), "run+wait-ms")
	b.ReportMetric(median(destroy), "destroy-ms")
	if path, err := exec.LookPath("runc"); err == nil {
		b.Logf("a runc binary exists at %s: compare with `runc run` of an equivalent bundle by hand", path)
	} else {
		b.Logf("no runc binary on PATH: reporting the embedded runtime only")
	}
}

// BenchmarkRunInContainer measures Run + Wait of /bin/true in an existing
// container (the cost of an exec health check).
func BenchmarkRunInContainer(b *testing.B) {
	needRoot(b)
	r := newTestRuntime(b, testConfig(b))
	ctx := context.Background()
	id := "bench-exec"
	if _, err := r.Create(ctx, cell.ContainerSpec{ID: id}); err != nil {
		b.Fatal(err)
	}
	var d []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		p, err := r.Run(ctx, id, cell.ProcessSpec{Path: "/bin/true"})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := p.Wait(ctx); err != nil {
			b.Fatal(err)
		}
		d = append(d, time.Since(t0))
	}
	b.StopTimer()
	b.ReportMetric(median(d), "median-ms/op")
}

// median in milliseconds.
func median(ds []time.Duration) float64 {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return float64(s[len(s)/2].Microseconds()) / 1000
}
