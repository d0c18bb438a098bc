package runc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/diegod/diegod/cell"
)

// httpGet returns the body of GET url, or an error.
func httpGet(url string) (string, error) {
	c := &http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return string(b), fmt.Errorf("status %d", resp.StatusCode)
	}
	return string(b), nil
}

func TestHTTPServerReachableOnHostPort(t *testing.T) {
	needRoot(t)
	r := newTestRuntime(t, testConfig(t))
	id := testID(t)
	info := create(t, r, cell.ContainerSpec{
		ID:     id,
		Labels: map[string]string{cell.LabelProcessGUID: "web", cell.LabelIndex: "0"},
		Limits: cell.Limits{MemoryMB: 128, DiskMB: 64, MaxPids: 64, CPUWeight: 10},
		Ports:  []uint16{8080},
		Env:    []string{"GREETING=hello"},
	})
	hp := info.NetInfo.HostPort(8080)
	if hp == 0 || info.NetInfo.Address == "" || info.NetInfo.InstanceAddress == "" {
		t.Fatalf("net info %+v: want host address, host port for 8080 and instance address", info.NetInfo)
	}
	if got, want := info.ProbeAddrs[8080], info.NetInfo.InstanceAddress+":8080"; got != want {
		t.Fatalf("ProbeAddrs[8080] = %q, want %q", got, want)
	}
	if info.State != cell.ContainerCreated {
		t.Fatalf("state after create = %s, want %s", info.State, cell.ContainerCreated)
	}

	var out, errOut syncBuffer
	// The default user (vcap) owns the app dir: write a file to serve.
	p, err := r.Run(context.Background(), id, cell.ProcessSpec{
		Path:   "/bin/sh",
		Args:   []string{"-c", `echo "$GREETING from $(id -un 2>/dev/null || id -u)" > index.html && exec python3 -m http.server 8080`},
		Stdout: &out, Stderr: &errOut,
	})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	urls := []string{
		fmt.Sprintf("http://%s:%d/", info.NetInfo.Address, hp),
		fmt.Sprintf("http://127.0.0.1:%d/", hp),
		"http://" + info.ProbeAddrs[8080] + "/",
	}
	for _, u := range urls {
		var body string
		waitFor(t, 15*time.Second, "GET "+u, func() bool {
			body, err = httpGet(u)
			return err == nil
		})
		if !strings.HasPrefix(body, "hello from ") {
			t.Errorf("GET %s = %q, want the index.html the app wrote", u, body)
		}
	}
	list, err := r.List(context.Background())
	if err != nil || len(list) != 1 || list[0].State != cell.ContainerRunning || list[0].Labels[cell.LabelProcessGUID] != "web" {
		t.Fatalf("List = %+v, %v: want the running container with its labels", list, err)
	}
	waitFor(t, 5*time.Second, "access log on stderr", func() bool { return strings.Contains(errOut.String(), "GET / HTTP") })

	st, err := r.Stats(context.Background(), id)
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	if st.CPUTime <= 0 || st.MemoryBytes == 0 || st.MemoryLimit != 128*mib || st.DiskLimit != 64*mib || st.DiskBytes == 0 {
		t.Errorf("Stats = %+v: want cpu, memory, limits and the app dir's index.html", st)
	}
	if err := p.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("Signal: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	es, err := p.Wait(ctx)
	if err != nil || es.Signal != syscall.SIGTERM {
		t.Fatalf("Wait = %+v, %v: want killed by SIGTERM", es, err)
	}
}

func TestExitStatusAndSignals(t *testing.T) {
	needRoot(t)
	r := newTestRuntime(t, testConfig(t))
	id := testID(t)
	create(t, r, cell.ContainerSpec{ID: id, Limits: cell.Limits{MemoryMB: 64}})

	st, _, _ := runWait(t, r, id, "/bin/sh", "-c", "exit 3")
	if st.Code != 3 || st.Signal != 0 || st.OOMKilled {
		t.Errorf("exit 3: got %+v, want Code 3", st)
	}

	// SIGKILL from the host to the process's pid, found through the
	// container's cgroup.
	p, err := r.Run(context.Background(), id, cell.ProcessSpec{Path: "/bin/sleep", Args: []string{"1000"}})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	pid := p.(*process).rec.PID
	if procStartTime(pid) == 0 {
		t.Fatalf("pid %d of the sleep is not running", pid)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err = p.Wait(ctx)
	if err != nil || st.Signal != syscall.SIGKILL || st.Code != 137 || st.OOMKilled {
		t.Errorf("host SIGKILL: got %+v, %v; want Signal SIGKILL, Code 137, not OOM", st, err)
	}

	// Process.Signal.
	p, err = r.Run(context.Background(), id, cell.ProcessSpec{Path: "sleep", Args: []string{"1000"}})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if err := p.Signal(syscall.SIGINT); err != nil {
		t.Fatalf("Signal: %v", err)
	}
	st, err = p.Wait(ctx)
	if err != nil || st.Signal != syscall.SIGINT {
		t.Errorf("Signal(SIGINT): got %+v, %v", st, err)
	}
	if err := p.Signal(syscall.SIGKILL); err != nil {
		t.Errorf("Signal after exit = %v, want nil", err)
	}

	// A path that does not exist fails Run itself.
	if _, err := r.Run(context.Background(), id, cell.ProcessSpec{Path: "/no/such/binary"}); err == nil {
		t.Errorf("Run of a missing binary: want an error")
	}
	if _, err := r.Run(context.Background(), "nope", cell.ProcessSpec{Path: "/bin/true"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("Run in unknown container = %v, want ErrNotFound", err)
	}
}

func TestOOMKilled(t *testing.T) {
	needRoot(t)
	r := newTestRuntime(t, testConfig(t))
	id := testID(t)
	create(t, r, cell.ContainerSpec{ID: id, Limits: cell.Limits{MemoryMB: 32}})
	st, out, errOut := runWait(t, r, id, "python3", "-c", "x = bytearray(200*1024*1024)\nprint('survived')")
	if !st.OOMKilled || st.Signal != syscall.SIGKILL {
		t.Fatalf("got %+v (out %q, err %q), want OOMKilled by SIGKILL", st, out, errOut)
	}
	// A later process that exits normally is not marked OOM.
	st, _, _ = runWait(t, r, id, "/bin/true")
	if st.OOMKilled || st.Code != 0 {
		t.Errorf("true after an OOM: got %+v", st)
	}
}

func TestIsolation(t *testing.T) {
	needRoot(t)
	r := newTestRuntime(t, testConfig(t))
	id := testID(t)
	const maxPids = 16
	create(t, r, cell.ContainerSpec{ID: id, Limits: cell.Limits{MemoryMB: 256, MaxPids: maxPids}})

	t.Run("max_pids stops a fork bomb", func(t *testing.T) {
		// Forks sleeping children until fork fails, then reaps them so
		// the later subtests have pids again.
		script := `
import os, signal, time
kids = []
try:
    while len(kids) < 200:
        pid = os.fork()
        if pid == 0:
            time.sleep(60)
            os._exit(0)
        kids.append(pid)
    print("forked", len(kids))
except OSError as e:
    print("forkfail", len(kids), e.errno)
for k in kids:
    os.kill(k, signal.SIGKILL)
    os.waitpid(k, 0)
`
		st, out, errOut := runWait(t, r, id, "python3", "-c", script)
		f := strings.Fields(out)
		if st.Code != 0 || len(f) < 2 || f[0] != "forkfail" {
			t.Fatalf("got %+v, %q %q: want the fork loop to fail", st, out, errOut)
		}
		if n, _ := strconv.Atoi(f[1]); n >= maxPids {
			t.Errorf("forked %d children with max_pids %d", n, maxPids)
		}
	})

	t.Run("no host processes", func(t *testing.T) {
		_, out, _ := runWait(t, r, id, "/bin/sh", "-c", "ls /proc | grep -c '^[0-9]'")
		n, err := strconv.Atoi(strings.TrimSpace(out))
		if err != nil {
			t.Fatalf("ls /proc: %q", out)
		}
		// pause, the sleeping fork children (< max_pids), sh, ls, grep.
		if n > maxPids+4 {
			t.Errorf("container sees %d pids, want only its own", n)
		}
		_, out, _ = runWait(t, r, id, "/bin/sh", "-c", "cat /proc/1/cmdline | tr '\\0' ' '")
		if !strings.Contains(out, "/proc/self/exe") {
			t.Errorf("pid 1 is %q, want the pause process", out)
		}
	})

	t.Run("read-only system, writable app and tmp", func(t *testing.T) {
		for _, tc := range []struct {
			cmd    string
			wantOK bool
		}{
			{"touch /usr/diegod-test", false},
			{"touch /etc/passwd", false},
			{"touch /diegod-test", false},
			{"touch /tmp/x && touch /home/vcap/app/x", true},
			{"mount -t tmpfs none /tmp", false},
			{"unshare -U true", false}, // needs no capability: seccomp refuses it
			{"grep -q '^Seccomp:[[:space:]]2' /proc/self/status && grep -q '^NoNewPrivs:[[:space:]]1' /proc/self/status", true},
			{"grep -q '^Seccomp:[[:space:]]2' /proc/1/status", true}, // the pause filters itself
			{"test \"$(wc -c < /proc/timer_list)\" = 0", true},       // masked
		} {
			st, out, errOut := runWait(t, r, id, "/bin/sh", "-c", tc.cmd)
			if ok := st.Code == 0; ok != tc.wantOK {
				t.Errorf("%q as root: exit %d (%s%s), want success %v", tc.cmd, st.Code, out, errOut, tc.wantOK)
			}
		}
	})

	t.Run("unprivileged default user", func(t *testing.T) {
		var out syncBuffer
		p, err := r.Run(context.Background(), id, cell.ProcessSpec{Path: "/bin/sh", Args: []string{"-c", "id -u; pwd; echo $HOME; grep CapEff /proc/self/status"}, Stdout: &out})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
		want := fmt.Sprintf("%d\n%s\n%s\nCapEff:\t0000000000000000\n", DefaultVcapID, AppDir, AppDir)
		if got := out.String(); got != want {
			t.Errorf("default user process printed %q, want %q", got, want)
		}
	})
}

func TestDestroyLeavesNothing(t *testing.T) {
	needRoot(t)
	cfg := testConfig(t)
	r := newTestRuntime(t, cfg)
	id := testID(t)
	info := create(t, r, cell.ContainerSpec{ID: id, Limits: cell.Limits{MemoryMB: 64, MaxPids: 32}, Ports: []uint16{8080, 9090}})
	p, err := r.Run(context.Background(), id, cell.ProcessSpec{Path: "/bin/sh", Args: []string{"-c", "sleep 1000 & sleep 1000"}})
	if err != nil {
		t.Fatal(err)
	}
	c, _ := r.get(id)
	st, err := c.lc.State()
	if err != nil {
		t.Fatal(err)
	}
	cgPaths := st.CgroupPaths
	if len(cgPaths) == 0 {
		t.Fatal("no cgroup paths")
	}
	if ports, _ := r.fwd.Ports(id); len(ports) != 2 {
		t.Fatalf("forwarded ports before destroy = %v, want 2", ports)
	}
	var nsStat syscall.Stat_t
	if err := syscall.Stat(filepath.Join(r.instanceDir(id), "netns"), &nsStat); err != nil {
		t.Fatal(err)
	}
	if err := r.Destroy(context.Background(), id); err != nil {
		t.Fatalf("Destroy: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if es, err := p.Wait(ctx); err != nil || es.Signal != syscall.SIGKILL {
		t.Errorf("process after destroy: %+v, %v; want killed", es, err)
	}
	for ctrl, path := range cgPaths {
		if _, err := os.Stat(path); err == nil {
			t.Errorf("cgroup %s left: %s", ctrl, path)
		}
	}
	if _, err := netlink.LinkByName(vethName(id)); err == nil {
		t.Errorf("veth %s left", vethName(id))
	}
	// No thread of ours may stay in the container's network namespace
	// (that would pin it, and its veth, forever).
	tasks, _ := filepath.Glob("/proc/self/task/*/ns/net")
	for _, task := range tasks {
		var st syscall.Stat_t
		if syscall.Stat(task, &st) == nil && st.Ino == nsStat.Ino && st.Dev == nsStat.Dev {
			t.Errorf("%s is still in the container's netns", task)
		}
	}
	if _, err := os.Stat(r.instanceDir(id)); err == nil {
		t.Errorf("instance dir left: %s", r.instanceDir(id))
	}
	if _, err := os.Stat(filepath.Join(r.lcRoot, id)); err == nil {
		t.Errorf("libcontainer state left")
	}
	if mps, _ := mountPointsUnder(cfg.StateDir); len(mps) != 0 {
		t.Errorf("mounts left under the state dir: %v", mps)
	}
	if ports, err := r.fwd.Ports(id); err != nil || len(ports) != 0 {
		t.Errorf("forwarded ports after destroy = %v, %v; want none", ports, err)
	}
	for _, m := range info.NetInfo.Ports {
		if r.ports.used[m.HostPort] {
			t.Errorf("host port %d still allocated", m.HostPort)
		}
	}
	if list, _ := r.List(context.Background()); len(list) != 0 {
		t.Errorf("List after destroy = %+v", list)
	}
	if err := r.Destroy(context.Background(), id); err != nil {
		t.Errorf("second Destroy = %v, want nil", err)
	}
}

func TestCreateErrors(t *testing.T) {
	needRoot(t)
	r := newTestRuntime(t, testConfig(t))
	ctx := context.Background()
	for _, tc := range []struct {
		spec cell.ContainerSpec
		want error
	}{
		{cell.ContainerSpec{ID: "a", RootFS: "docker://busybox"}, ErrRootFSNotSupported},
		{cell.ContainerSpec{ID: "a", RootFS: "droplet:abc"}, ErrRootFSNotSupported},
		{cell.ContainerSpec{ID: "a", RootFS: "weird"}, ErrInvalidSpec},
		{cell.ContainerSpec{ID: "../x"}, ErrInvalidSpec},
		{cell.ContainerSpec{ID: "a", Ports: []uint16{80, 80}}, ErrInvalidSpec},
		{cell.ContainerSpec{ID: "a", Limits: cell.Limits{MemoryMB: -1}}, ErrInvalidSpec},
	} {
		if _, err := r.Create(ctx, tc.spec); !errors.Is(err, tc.want) {
			t.Errorf("Create(%+v) = %v, want %v", tc.spec, err, tc.want)
		}
	}
	id := testID(t)
	create(t, r, cell.ContainerSpec{ID: id})
	if _, err := r.Create(ctx, cell.ContainerSpec{ID: id}); !errors.Is(err, ErrExists) {
		t.Errorf("second Create = %v, want ErrExists", err)
	}
}

// TestContainerToHostPort checks a container reaches another container's
// host port (hairpin NAT) and the host through the bridge.
func TestContainerToHostPort(t *testing.T) {
	needRoot(t)
	r := newTestRuntime(t, testConfig(t))
	srv, cli := testID(t), testID(t)
	info := create(t, r, cell.ContainerSpec{ID: srv, Ports: []uint16{8000}})
	create(t, r, cell.ContainerSpec{ID: cli})
	if _, err := r.Run(context.Background(), srv, cell.ProcessSpec{Path: "python3", Args: []string{"-m", "http.server", "8000"}, Dir: "/usr"}); err != nil {
		t.Fatal(err)
	}
	url := fmt.Sprintf("http://%s:%d/", info.NetInfo.Address, info.NetInfo.HostPort(8000))
	waitFor(t, 15*time.Second, "server up", func() bool { _, err := httpGet(url); return err == nil })
	st, out, errOut := runWait(t, r, cli, "python3", "-c", "import urllib.request,sys; print(urllib.request.urlopen(sys.argv[1], timeout=5).status)", url)
	if st.Code != 0 || strings.TrimSpace(out) != "200" {
		t.Errorf("container -> host port: %+v %q %q", st, out, errOut)
	}
	// The host's own address is reachable through the bridge gateway.
	ln, err := net.Listen("tcp4", r.net.gateway.String()+":0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			_, _ = c.Write([]byte("hi"))
			c.Close()
		}
	}()
	st, out, errOut = runWait(t, r, cli, "python3", "-c", "import socket,sys; s=socket.create_connection((sys.argv[1], int(sys.argv[2])), 5); print(s.recv(2).decode())",
		r.net.gateway.String(), strconv.Itoa(ln.Addr().(*net.TCPAddr).Port))
	if st.Code != 0 || strings.TrimSpace(out) != "hi" {
		t.Errorf("container -> gateway: %+v %q %q", st, out, errOut)
	}
}

func TestUserspaceProxy(t *testing.T) {
	needRoot(t)
	cfg := testConfig(t)
	cfg.UserspaceProxy = true
	r := newTestRuntime(t, cfg)
	if _, ok := r.fwd.(*proxyForwarder); !ok {
		t.Fatalf("forwarder is %T, want the userspace proxy", r.fwd)
	}
	id := testID(t)
	info := create(t, r, cell.ContainerSpec{ID: id, Ports: []uint16{8000}})
	if _, err := r.Run(context.Background(), id, cell.ProcessSpec{Path: "python3", Args: []string{"-m", "http.server", "8000"}, Dir: "/usr"}); err != nil {
		t.Fatal(err)
	}
	url := fmt.Sprintf("http://127.0.0.1:%d/", info.NetInfo.HostPort(8000))
	waitFor(t, 15*time.Second, "GET "+url, func() bool { _, err := httpGet(url); return err == nil })
	if err := r.Destroy(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	if _, err := httpGet(url); err == nil {
		t.Errorf("GET %s after destroy succeeded", url)
	}
}
