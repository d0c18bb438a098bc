package node

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/diegod/diegod/model"
)

func TestBadInputIsRefusedAndNothingStored(t *testing.T) {
	tn := startNode(t, testConfig(t, t.TempDir()))
	ctx := context.Background()
	valid := `{"process_guid":"ok","instances":1,"memory_mb":16,"disk_mb":16,"action":{"run":{"path":"/bin/x"}}}`
	if _, err := tn.client.SubmitRaw(ctx, []byte(valid)); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		body string
		code model.Code
		want string
	}{
		{"malformed", `{"process_guid":`, model.CodeInvalidRequest, "invalid JSON"},
		{"unknown field", `{"process_guid":"x","instanes":2,"action":{"run":{"path":"/x"}}}`, model.CodeInvalidRequest, "instanes"},
		{"invalid guid", `{"process_guid":"a b","instances":1,"action":{"run":{"path":"/x"}}}`, model.CodeInvalidRequest, "process_guid"},
		{"negative memory", `{"process_guid":"neg","instances":1,"memory_mb":-1,"action":{"run":{"path":"/x"}}}`, model.CodeInvalidRequest, "memory_mb"},
		{"absurd instances", `{"process_guid":"many","instances":100000000,"action":{"run":{"path":"/x"}}}`, model.CodeInvalidRequest, "instances"},
		{"trailing data", valid + `{}`, model.CodeInvalidRequest, "after the object"},
		{"oversize", `{"process_guid":"big","annotation":"` + strings.Repeat("x", 2<<20) + `"}`, model.CodeRequestTooLarge, "larger than"},
		{"duplicate guid", valid, model.CodeResourceExists, "already exists"},
	}
	for _, tt := range tests {
		_, err := tn.client.SubmitRaw(ctx, []byte(tt.body))
		var me *model.Error
		if !errors.As(err, &me) || me.Code != tt.code || !strings.Contains(me.Message, tt.want) {
			t.Errorf("%s: got %v, want %s containing %q", tt.name, err, tt.code, tt.want)
		}
		if me != nil && strings.Contains(me.Message, "\n") {
			t.Errorf("%s: error is not one line: %q", tt.name, me.Message)
		}
	}
	lrps, err := tn.client.LRPs(ctx)
	if err != nil || len(lrps) != 1 || lrps[0].ProcessGUID != "ok" {
		t.Errorf("stored LRPs: got %+v, %v; want only %q", lrps, err, "ok")
	}
	// Bad scale, unknown guid.
	if _, err := tn.client.Scale(ctx, "ok", -1); model.CodeOf(err) != model.CodeInvalidRequest {
		t.Errorf("scale -1: got %v, want invalid_request", err)
	}
	if _, err := tn.client.Scale(ctx, "nope", 2); !errors.Is(err, model.ErrNotFound) {
		t.Errorf("scale unknown: got %v, want not_found", err)
	}
	if _, err := tn.client.Delete(ctx, "nope"); !errors.Is(err, model.ErrNotFound) {
		t.Errorf("delete unknown: got %v, want not_found", err)
	}
}

func TestAPINeedsToken(t *testing.T) {
	tn := startNode(t, testConfig(t, t.TempDir()))
	c, _ := NewClient(tn.APIAddr(), "wrong", nil)
	if _, err := c.LRPs(context.Background()); model.CodeOf(err) != model.CodeUnauthorized {
		t.Errorf("wrong token: got %v, want unauthorized", err)
	}
	resp, err := http.Get("http://" + tn.APIAddr() + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Errorf("healthz without token: got %v %v, want 200", resp, err)
	}
	if resp != nil {
		resp.Body.Close()
	}
}

func TestParseLRPSpec(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"yaml", "process_guid: a\ninstances: 2\naction: {run: {path: /x}}\n", ""},
		{"json", `{"process_guid":"a","action":{"run":{"path":"/x"}}}`, ""},
		{"unknown", "process_guid: a\ninstanes: 2\n", `unknown field "instanes"`},
		{"duplicate", "process_guid: a\nprocess_guid: b\n", "already set"},
		{"malformed", "process_guid: [a\n", "invalid spec"},
		{"wrong type", "process_guid: a\ninstances: many\n", "instances"},
		{"empty", "  \n", "empty spec"},
	}
	for _, tt := range tests {
		lrp, err := ParseLRPSpec([]byte(tt.in))
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: got %v", tt.name, err)
		case tt.want == "" && lrp.RootFS != model.DefaultRootFS:
			t.Errorf("%s: rootfs %q, want the default", tt.name, lrp.RootFS)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s: got %v, want error containing %q", tt.name, err, tt.want)
		}
	}
}

// TestReadyMeansTheCellIsRegistered: /readyz answers 200 only once the
// node's cell is in the state, so work submitted then can be placed.
func TestReadyMeansTheCellIsRegistered(t *testing.T) {
	tn := startNode(t, testConfig(t, t.TempDir()))
	waitFor(t, 10*time.Second, "/readyz 200", func() bool {
		resp, err := http.Get("http://" + tn.APIAddr() + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	if c, ok := tn.Store().View().Cell("cell-1"); !ok || !c.Present() {
		t.Errorf("ready, but cell-1 is not registered: %+v, %v", c, ok)
	}
}

// TestMetricsExportEveryComponent: /metrics has the store's, the auction's
// and the convergence's figures once an LRP was placed.
func TestMetricsExportEveryComponent(t *testing.T) {
	tn := startNode(t, testConfig(t, t.TempDir()))
	if _, err := tn.client.Submit(context.Background(), fakeLRP("m", 2, nil)); err != nil {
		t.Fatal(err)
	}
	tn.waitRunning(t, "m", 2)
	var body string
	waitFor(t, 10*time.Second, "auction and store metrics", func() bool {
		resp, err := http.Get("http://" + tn.APIAddr() + "/metrics")
		if err != nil {
			return false
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		body = string(b)
		return strings.Contains(body, "diegod_auction_placements_total 2") && strings.Contains(body, "diegod_converge_runs_total")
	})
	for _, want := range []string{"diegod_raftstore_", "diegod_router_", "diegod_lrps_desired"} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics has no %s metric", want)
		}
	}
}
