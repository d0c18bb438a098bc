package routing

import (
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// result is one client request's outcome.
type result struct {
	status    int
	err       error
	afterGone bool // answered after the LRP was deleted
}

func TestScaleDownAndDeleteLoseNoRequest(t *testing.T) {
	src := newFakeSource()
	bs := []*backend{newBackend(t, 0, nil), newBackend(t, 1, nil), newBackend(t, 2, nil)}
	routeWith(src, "drain", "drain.home", bs...)
	rt := startRouter(t, testConfig(), src, nil, nil, nil)
	r := rt.srv.Router()
	waitFor(t, 5*time.Second, "3 endpoints", func() bool { return poolSize(r, "drain.home") == 3 })

	var (
		mu      sync.Mutex
		results []result
		done    atomic.Int64
		deleted atomic.Bool
		stop    = make(chan struct{})
		wg      sync.WaitGroup
	)
	for c := 0; c < 4; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				req, _ := http.NewRequest(http.MethodGet, rt.url+"/", nil)
				req.Host = "drain.home"
				var res result
				resp, err := rt.client.Do(req)
				if err != nil {
					res.err = err
				} else {
					_, res.err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					res.status = resp.StatusCode
				}
				// A 404 is right only for a request answered after the delete
				// was issued.
				res.afterGone = deleted.Load()
				mu.Lock()
				results = append(results, res)
				mu.Unlock()
				done.Add(1)
			}
		}()
	}
	progress := func(what string, n int64) {
		t.Helper()
		from := done.Load()
		waitFor(t, 10*time.Second, what, func() bool { return done.Load() >= from+n })
	}
	progress("traffic on 3 instances", 100)

	// Scale 3 -> 1: the store deletes the rows (every router drops them at
	// commit); only then does the cell stop the containers.
	src.removeActuals("drain", 1, 2)
	waitFor(t, 5*time.Second, "1 endpoint", func() bool { return poolSize(r, "drain.home") == 1 })
	bs[1].Close()
	bs[2].Close()
	progress("traffic on 1 instance", 100)

	// Delete: the LRP and its last row go in one commit.
	deleted.Store(true)
	src.removeLRP("drain")
	waitFor(t, 5*time.Second, "route gone", func() bool { return poolSize(r, "drain.home") == -1 })
	bs[0].Close()
	progress("traffic after delete", 50)
	close(stop)
	wg.Wait()

	var ok, notFound int
	for i, res := range results {
		switch {
		case res.err != nil:
			t.Errorf("request %d failed: %v", i, res.err)
		case res.status == http.StatusOK:
			ok++
		case res.status == http.StatusNotFound && res.afterGone:
			notFound++
		default:
			t.Errorf("request %d: status %d (answered after delete: %v)", i, res.status, res.afterGone)
		}
	}
	if ok < 200 || notFound < 1 {
		t.Errorf("got %d OK and %d not-found, want at least 200 and 1", ok, notFound)
	}
	if h := bs[1].hits.Load() + bs[2].hits.Load(); h == 0 {
		t.Errorf("instances 1 and 2 never served before scale-down")
	}
}
