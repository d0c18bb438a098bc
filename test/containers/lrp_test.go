package containers

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/diegod/diegod/model"
)

// TestHTTPServerRunsAndAnswers: python's http.server with 2 instances
// passes its http health check, answers on its host port, is routed, and
// leaves nothing behind once deleted.
func TestHTTPServerRunsAndAnswers(t *testing.T) {
	needRoot(t)
	dir := t.TempDir()
	rn := startNode(t, nodeConfig(dir))
	ctx := context.Background()
	lrp := httpServerLRP("pyweb", 2)
	lrp.Routes = []string{"pyweb.test"}
	if _, err := rn.client.Submit(ctx, lrp); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 60*time.Second, "2 RUNNING instances", func() bool { return len(running(status(t, rn.client, "pyweb"))) == 2 })
	rows := running(status(t, rn.client, "pyweb"))
	for _, r := range rows {
		if r.InstanceAddress == "" || r.InstanceAddress == r.Address {
			t.Errorf("instance %d: container address %q, want its own address", r.Index, r.InstanceAddress)
		}
		url := fmt.Sprintf("http://%s:%d/", r.Address, r.HostPort(8080))
		resp, err := http.Get(url)
		if err != nil {
			t.Fatalf("GET %s: %v", url, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(body), "Directory listing") {
			t.Errorf("GET %s: got %d %.80q, want python's directory listing", url, resp.StatusCode, body)
		}
	}
	req, _ := http.NewRequest(http.MethodGet, "http://"+rn.n.RouterAddr()+"/", nil)
	req.Host = "pyweb.test"
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("through the router: got %v %v, want 200", resp, err)
	}
	resp.Body.Close()

	if _, err := rn.client.Delete(ctx, "pyweb"); err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		waitFor(t, 30*time.Second, "no cgroup, mount or state of container "+r.InstanceGUID, func() bool {
			return len(leftovers(t, r.InstanceGUID, dir)) == 0
		})
	}
	out, _ := exec.Command("ip", "-o", "link", "show", "master", testBridge).CombinedOutput()
	if strings.TrimSpace(string(out)) != "" {
		t.Errorf("veths left on %s: %s", testBridge, out)
	}
}

// TestKilledProcessCrashesAndRestarts: SIGKILL of the app inside its
// container is a crash with the exit status, restarted at once (crash 1).
func TestKilledProcessCrashesAndRestarts(t *testing.T) {
	needRoot(t)
	rn := startNode(t, nodeConfig(t.TempDir()))
	if _, err := rn.client.Submit(context.Background(), httpServerLRP("victim", 1)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 60*time.Second, "RUNNING", func() bool { return len(running(status(t, rn.client, "victim"))) == 1 })
	first := running(status(t, rn.client, "victim"))[0]
	pid := appPID(t, first.InstanceGUID, "python3")
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	var now model.ActualLRP
	waitFor(t, 60*time.Second, "a restarted instance", func() bool {
		rs := running(status(t, rn.client, "victim"))
		if len(rs) != 1 || rs[0].InstanceGUID == first.InstanceGUID {
			return false
		}
		now = rs[0]
		return true
	})
	if now.CrashCount != 1 || !strings.Contains(now.CrashReason, "Exited with status 137") {
		t.Errorf("after kill: crash count %d reason %q, want 1 and \"Exited with status 137\"", now.CrashCount, now.CrashReason)
	}
}

// TestOutOfMemoryIsTheCrashReason: allocating past memory_mb is reported
// as out of memory.
func TestOutOfMemoryIsTheCrashReason(t *testing.T) {
	needRoot(t)
	rn := startNode(t, nodeConfig(t.TempDir()))
	lrp := model.DesiredLRP{ProcessGUID: "hog", Instances: 1, MemoryMB: 32, DiskMB: 16,
		Action: &model.Action{Run: &model.RunAction{Path: "/usr/bin/python3",
			Args: []string{"-c", "import time; x = bytearray(200*1024*1024); time.sleep(60)"}}},
		HealthCheck: &model.HealthCheck{Type: model.HealthCheckNone}}
	if _, err := rn.client.Submit(context.Background(), lrp); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 60*time.Second, "an out-of-memory crash", func() bool {
		for _, in := range status(t, rn.client, "hog").Instances {
			if in.CrashCount > 0 {
				if !strings.Contains(in.CrashReason, "out of memory") {
					t.Fatalf("crash reason: got %q, want it to say out of memory", in.CrashReason)
				}
				return true
			}
		}
		return false
	})
}

// appPID finds the pid of the process named comm in the container's cgroup.
func appPID(t *testing.T, guid, comm string) int {
	t.Helper()
	var pid int
	waitFor(t, 10*time.Second, comm+" in the container", func() bool {
		procs, err := os.ReadFile(filepath.Join("/sys/fs/cgroup/pids/diegod", guid, "cgroup.procs"))
		if err != nil {
			return false
		}
		for _, f := range strings.Fields(string(procs)) {
			p, _ := strconv.Atoi(f)
			name, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", p))
			if strings.HasPrefix(strings.TrimSpace(string(name)), comm) {
				pid = p
				return true
			}
		}
		return false
	})
	return pid
}
