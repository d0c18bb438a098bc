package routing

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// bigSnapshot has n LRPs with one route and two RUNNING instances each, plus
// as many unrouted rows as routed ones.
func bigSnapshot(n int) Snapshot {
	s := Snapshot{Index: 1}
	for i := 0; i < n; i++ {
		guid := fmt.Sprintf("app-%05d", i)
		s.Desired = append(s.Desired, desiredLRP(guid, 2, fmt.Sprintf("app-%05d.apps.home", i)))
		for j := 0; j < 2; j++ {
			s.Actuals = append(s.Actuals, runningAt(guid, j, fmt.Sprintf("10.0.%d.%d:%d", i%200, j+1, 61000+i%4000)))
		}
		w := fmt.Sprintf("worker-%05d", i)
		s.Desired = append(s.Desired, desiredLRP(w, 2))
		s.Actuals = append(s.Actuals, runningAt(w, 0, "10.0.0.1:1"), runningAt(w, 1, "10.0.0.1:2"))
	}
	return s
}

// BenchmarkBuild10kRoutes: a full rebuild for 10,000 routes (20,000
// endpoints, 40,000 rows in the snapshot).
func BenchmarkBuild10kRoutes(b *testing.B) {
	s := bigSnapshot(10000)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		Build(s, "10.0.0.1")
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/build")
}

func BenchmarkLookup(b *testing.B) {
	t := Build(bigSnapshot(10000), "")
	hosts := []string{"app-04242.apps.home", "APP-00001.apps.home:8080", "missing.apps.home"}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t.Lookup(hosts[i%len(hosts)])
	}
}

// BenchmarkRouteVisible10k measures, with 10,000 routes in the state, the
// time from committing a RUNNING row to the router's table containing it
// (subscription delivery + snapshot + Build + swap). Target: < 100 ms.
func BenchmarkRouteVisible10k(b *testing.B) {
	src := newFakeSource()
	s := bigSnapshot(10000)
	for _, d := range s.Desired {
		src.desired[d.ProcessGUID] = d
	}
	for _, a := range s.Actuals {
		src.actuals[actualKey{a.ProcessGUID, a.Index, a.Presence}] = a
	}
	r, err := NewRouter(DefaultConfig(), nil, nil, zerolog.Nop())
	if err != nil {
		b.Fatal(err)
	}
	swapped := make(chan struct{}, 16)
	publish := func(t *Table) {
		r.SetTable(t)
		swapped <- struct{}{}
	}
	w := NewWatcher(src, "", DefaultSubscribeBuffer, publish, nil, zerolog.Nop())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = w.Run(ctx) }()
	<-swapped
	// waitPool blocks until host has n endpoints (each table swap signals).
	waitPool := func(host string, n int) {
		for {
			if p := r.Table().Lookup(host); p != nil && len(p.Endpoints) == n {
				return
			}
			<-swapped
		}
	}
	b.ResetTimer()
	var total time.Duration
	for i := 0; i < b.N; i++ {
		guid := fmt.Sprintf("app-%05d", i%10000)
		a := runningAt(guid, 5+i, fmt.Sprintf("10.1.0.1:%d", 1000+i%50000))
		start := time.Now()
		src.putActuals(a)
		waitPool(guid+".apps.home", 3)
		total += time.Since(start)
		src.removeActuals(guid, 5+i)
		waitPool(guid+".apps.home", 2)
	}
	b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms/visible")
}

// BenchmarkProxy sends GETs through the router to one loopback backend
// (handler in-process, client keep-alive, 8 concurrent clients).
func BenchmarkProxy(b *testing.B) {
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("hello"))
	}))
	defer be.Close()
	src := newFakeSource()
	src.putDesired(desiredLRP("bench", 1, "bench.home"))
	src.putActuals(runningAt("bench", 0, be.Listener.Addr().String()))
	r, err := NewRouter(DefaultConfig(), nil, nil, zerolog.Nop())
	if err != nil {
		b.Fatal(err)
	}
	r.SetTable(Build(src.Snapshot(), ""))
	front := httptest.NewServer(r)
	defer front.Close()
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	b.ReportAllocs()
	b.SetParallelism(4)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequest(http.MethodGet, front.URL+"/", nil)
			req.Host = "bench.home"
			resp, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	})
}
