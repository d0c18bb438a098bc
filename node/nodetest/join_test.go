package nodetest_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/diegod/diegod/model"
	"github.com/diegod/diegod/node"
	"github.com/diegod/diegod/node/nodetest"
)

// extraConfig is the config of a node that is not part of the cluster yet.
func extraConfig(t *testing.T, c *nodetest.Cluster, name string) node.Config {
	t.Helper()
	cfg := node.DefaultConfig()
	cfg.NodeName = name
	cfg.DataDir = filepath.Join(t.TempDir(), name)
	cfg.Runtime = node.RuntimeFake
	cfg.APIPort, cfg.RaftPort, cfg.GossipPort, cfg.RouterPort = 0, 0, 0, 0
	cfg.MemoryMB, cfg.DiskMB = 1024, 1024
	cfg.Network = c.Net.For(name)
	cfg.Join = c.SeedAddr()
	cfg.JoinTimeout = 5 * time.Second
	return cfg
}

func TestJoinThreeNodesWithToken(t *testing.T) {
	c := nodetest.NewCluster(t, nodetest.Options{Nodes: 3})
	leader := c.WaitLeader(t)
	if leader.Name != "node-0" {
		t.Errorf("leader: got %s, want the bootstrap node", leader.Name)
	}
	ms, err := c.Nodes[2].Client.Members(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	roles := map[string]string{}
	for _, m := range ms {
		roles[m.Node] = m.Raft + "/" + m.Gossip
		if m.Address == "" || m.RaftAddress == "" {
			t.Errorf("member %s: missing addresses: %+v", m.Node, m)
		}
	}
	want := map[string]string{"node-0": "leader/alive", "node-1": "voter/alive", "node-2": "voter/alive"}
	for k, v := range want {
		if roles[k] != v {
			t.Errorf("member %s: got %q, want %q (all: %v)", k, roles[k], v, roles)
		}
	}
	// Every node shares the cluster CA and the operator token; the API is
	// HTTPS and refuses a request without the token.
	for _, n := range c.Nodes {
		if n.Token() != c.Nodes[0].Token() || string(n.CACertPEM()) != string(c.Nodes[0].CACertPEM()) {
			t.Errorf("%s: token or CA differs from node-0's", n.Name)
		}
		if !strings.HasPrefix(n.APIURL(), "https://") {
			t.Errorf("%s: API %s is not HTTPS", n.Name, n.APIURL())
		}
	}
	anon, err := node.NewClient(c.Nodes[1].APIAddr(), "", c.Nodes[1].CACertPEM())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := anon.LRPs(context.Background()); model.CodeOf(err) != model.CodeUnauthorized {
		t.Errorf("request without token: got %v, want unauthorized", err)
	}
	// Internal endpoints need a cluster client certificate, not the
	// operator token.
	tok, _ := node.NewClient(c.Nodes[1].APIAddr(), c.Nodes[1].Token(), c.Nodes[1].CACertPEM())
	req, _ := http.NewRequest(http.MethodGet, tok.BaseURL+"/v1/internal/read-index", nil)
	req.Header.Set("Authorization", "Bearer "+tok.Token)
	resp, err := tok.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("internal endpoint without client certificate: got %s, want 401", resp.Status)
	}

	// A member restarts from its data dir without a token.
	c.Kill(t, 2)
	c.Restart(t, 2)
	c.WaitStable(t)

	// Writes on any node are forwarded to the leader; a consistent read on
	// another follower sees them at once.
	submit(t, c.Nodes[1], fakeLRP("fwd", 1))
	body := getConsistent(t, c.Nodes[2], "/v1/lrps/fwd")
	if !strings.Contains(body, `"process_guid":"fwd"`) {
		t.Errorf("consistent read on node-2: %s", body)
	}

	// Logs come from every node's cell (fetched over mutual TLS).
	submit(t, c.Nodes[0], fakeLRP("logs", 6))
	leader = c.WaitLeader(t)
	waitAllRunning(t, leader, "logs", 6, 30*time.Second)
	cells := map[string]bool{}
	for _, cl := range ordinaryRunning(leader, "logs") {
		cells[cl] = true
	}
	waitFor(t, 10*time.Second, "log lines of every instance on node-1", func() bool {
		seen := map[string]bool{}
		err := c.Nodes[1].Client.Logs(context.Background(), "logs", false, true, func(l model.LogLine) error {
			if strings.Contains(l.Text, "successfully created container") {
				seen[l.InstanceGUID] = true
			}
			return nil
		})
		return err == nil && len(seen) == 6
	})
	if len(cells) < 2 {
		t.Logf("note: the 6 instances run on %d cell(s) only", len(cells))
	}
}

// getConsistent GETs path?consistent=true from n and returns the body.
func getConsistent(t *testing.T, n *nodetest.Node, path string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, n.Client.BaseURL+path+"?consistent=true", nil)
	req.Header.Set("Authorization", "Bearer "+n.Client.Token)
	resp, err := n.Client.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s %s", path, resp.Status, data)
	}
	return string(data)
}

func TestJoinRefusals(t *testing.T) {
	c := nodetest.NewCluster(t, nodetest.Options{Nodes: 1})
	good, err := node.ParseToken(c.Token())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		token node.JoinToken
		want  error
	}{
		{"wrong secret", node.JoinToken{CAFingerprint: good.CAFingerprint, Secret: strings.Repeat("0", 32)}, node.ErrJoinRefused},
		{"wrong CA fingerprint", node.JoinToken{CAFingerprint: strings.Repeat("ab", 32), Secret: good.Secret}, node.ErrCAMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := extraConfig(t, c, "intruder")
			cfg.JoinToken = tt.token.String()
			n, err := node.New(cfg, c.Logger())
			if err == nil {
				t.Fatal("join succeeded")
			}
			_ = n
			if !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}

	// A server that is not the cluster (another CA) never sees the secret.
	var posts atomic.Int32
	impostor := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			posts.Add(1)
		}
		w.Write([]byte("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"))
	}))
	defer impostor.Close()
	cfg := extraConfig(t, c, "victim")
	cfg.Join = strings.TrimPrefix(impostor.URL, "https://")
	cfg.Network = nil
	cfg.JoinToken = c.Token()
	if _, err := node.New(cfg, c.Logger()); !errors.Is(err, node.ErrCAMismatch) {
		t.Errorf("join via an impostor: got %v, want %v", err, node.ErrCAMismatch)
	}
	if n := posts.Load(); n != 0 {
		t.Errorf("the impostor received %d join requests carrying the secret", n)
	}

	// Rotating the token refuses the old one and admits with the new one.
	info, err := c.Nodes[0].Client.RotateToken(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if info.Token == c.Token() {
		t.Fatal("rotate returned the old token")
	}
	old := extraConfig(t, c, "late")
	old.JoinToken = c.Token()
	if _, err := node.New(old, c.Logger()); !errors.Is(err, node.ErrJoinRefused) {
		t.Errorf("join with the rotated-out token: got %v, want %v", err, node.ErrJoinRefused)
	}
	fresh := extraConfig(t, c, "late")
	fresh.JoinToken = info.Token
	n, err := node.New(fresh, c.Logger())
	if err != nil {
		t.Fatalf("join with the new token: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	defer func() { cancel(); <-done }()
	waitFor(t, 10*time.Second, "late joins raft", func() bool {
		fut := c.Nodes[0].Store().Raft().GetConfiguration()
		if fut.Error() != nil {
			return false
		}
		for _, s := range fut.Configuration().Servers {
			if s.ID == "late" && s.Suffrage == raft.Voter {
				return true
			}
		}
		return false
	})
}
