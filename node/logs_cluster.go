package node

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"sort"
	"sync"
	"time"

	"github.com/diegod/diegod/model"
)

// Log fan-out limits.
const (
	// remoteRecentTimeout bounds the collection of other nodes' recent
	// lines.
	remoteRecentTimeout = 2 * time.Second
	// followBuffer is the merged follow channel's buffer.
	followBuffer = 1024
)

// clusterLogs is the API's log source across the cluster: this node's
// store (its cell's APP, HEALTH and CELL lines and its router's RTR lines)
// plus every other live member's, fetched over mutual TLS from
// GET /v1/internal/logs/{guid}, which serves a node's own store only.
type clusterLogs struct {
	n     *Node
	local logSource
}

var _ logSource = clusterLogs{}

// peersAlive returns the API addresses of the other live members.
func (c clusterLogs) peersAlive() []string {
	var out []string
	for name, m := range c.n.gossip.Snapshot(time.Now()) {
		if name != c.n.cfg.NodeName && memberUp(m, true) && m.Meta.API != "" {
			out = append(out, m.Meta.API)
		}
	}
	sort.Strings(out)
	return out
}

// remote opens the log stream of guid on the node at addr.
func (c clusterLogs) remote(ctx context.Context, addr, guid, query string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet,
		"https://"+addr+"/v1/internal/logs/"+url.PathEscape(guid)+"?"+query, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.n.internal.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		return nil, decodeResponse(resp, nil)
	}
	return resp, nil
}

// decodeLines calls fn for each NDJSON log line of body until it ends or
// fn returns false.
func decodeLines(resp *http.Response, fn func(model.LogLine) bool) {
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64*1024), 2*model.MaxLogLineSize)
	for sc.Scan() {
		var l model.LogLine
		if json.Unmarshal(sc.Bytes(), &l) == nil && !fn(l) {
			return
		}
	}
}

// Recent returns the recent lines of guid from every live node, in time
// order. A node that does not answer in time is left out.
func (c clusterLogs) Recent(guid string) []model.LogLine {
	lines := c.local.Recent(guid)
	ctx, cancel := context.WithTimeout(context.Background(), remoteRecentTimeout)
	defer cancel()
	var (
		mu sync.Mutex
		wg sync.WaitGroup
	)
	for _, addr := range c.peersAlive() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := c.remote(ctx, addr, guid, "recent=true")
			if err != nil {
				c.n.log.Debug().Err(err).Str(logKeyAddress, addr).Msg("remote recent logs")
				return
			}
			decodeLines(resp, func(l model.LogLine) bool {
				mu.Lock()
				lines = append(lines, l)
				mu.Unlock()
				return true
			})
		}()
	}
	wg.Wait()
	sort.SliceStable(lines, func(i, j int) bool { return lines[i].Time.Before(lines[j].Time) })
	return lines
}

// Follow merges the new lines of guid from this node and every node live
// when it is called. The channel closes when ctx ends.
func (c clusterLogs) Follow(ctx context.Context, guid string) <-chan model.LogLine {
	out := make(chan model.LogLine, followBuffer)
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	send := func(l model.LogLine) bool {
		select {
		case out <- l:
			return true
		case <-ctx.Done():
			return false
		}
	}
	local := c.local.Follow(ctx, guid)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for l := range local {
			if !send(l) {
				return
			}
		}
	}()
	for _, addr := range c.peersAlive() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := c.remote(ctx, addr, guid, "follow=true")
			if err != nil {
				c.n.log.Debug().Err(err).Str(logKeyAddress, addr).Msg("remote log follow")
				return
			}
			decodeLines(resp, send)
		}()
	}
	go func() {
		<-ctx.Done()
		wg.Wait()
		close(out)
	}()
	// The local follower ends with ctx; so must the merge.
	go func() {
		wg.Wait()
		cancel()
	}()
	return out
}
