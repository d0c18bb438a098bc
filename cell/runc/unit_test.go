package runc

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"

	"github.com/diegod/diegod/cell"
)

func TestConfigValidate(t *testing.T) {
	ok := DefaultConfig()
	ok.StateDir = "/var/lib/diegod/containers"
	if err := ok.Validate(); err != nil {
		t.Fatalf("default config with StateDir: %v", err)
	}
	for _, tc := range []struct {
		name string
		mut  func(*Config)
	}{
		{"StateDir", func(c *Config) { c.StateDir = "" }},
		{"StateDir", func(c *Config) { c.StateDir = "relative" }},
		{"HostIP", func(c *Config) { c.HostIP = "::1" }},
		{"BridgeName", func(c *Config) { c.BridgeName = "a-very-long-bridge-name" }},
		{"Subnet", func(c *Config) { c.Subnet = "10.0.0.0/30" }},
		{"Subnet", func(c *Config) { c.Subnet = "fd00::/64" }},
		{"PortRangeStart", func(c *Config) { c.PortRangeStart, c.PortRangeEnd = 62000, 61000 }},
		{"DefaultUser", func(c *Config) { c.DefaultUser = "" }},
		{"CgroupParent", func(c *Config) { c.CgroupParent = "../x" }},
	} {
		c := ok
		tc.mut(&c)
		err := c.Validate()
		if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), tc.name) {
			t.Errorf("%s: Validate = %v, want ErrInvalidConfig naming %s", tc.name, err, tc.name)
		}
	}
}

func TestIPAllocator(t *testing.T) {
	a := newIPAllocator(netip.MustParsePrefix("10.9.0.0/29")) // .1 gateway, .2-.6 usable, .7 broadcast
	var got []string
	for {
		ip, err := a.Allocate()
		if errors.Is(err, ErrNoAddress) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ip.String())
	}
	want := []string{"10.9.0.2", "10.9.0.3", "10.9.0.4", "10.9.0.5", "10.9.0.6"}
	if !slices.Equal(got, want) {
		t.Fatalf("allocated %v, want %v", got, want)
	}
	a.Release(netip.MustParseAddr("10.9.0.3"))
	a.Release(netip.MustParseAddr("10.9.0.5"))
	// Round robin: the next address after the last handed out comes first.
	if ip, _ := a.Allocate(); ip.String() != "10.9.0.3" {
		t.Errorf("after releases got %s, want 10.9.0.3 (wrapped around)", ip)
	}
	if ip, _ := a.Allocate(); ip.String() != "10.9.0.5" {
		t.Errorf("got %s, want 10.9.0.5", ip)
	}
	b := newIPAllocator(netip.MustParsePrefix("10.9.0.0/29"))
	b.Reserve(netip.MustParseAddr("10.9.0.2"))
	b.Reserve(netip.MustParseAddr("10.8.0.2")) // outside: ignored
	if ip, _ := b.Allocate(); ip.String() != "10.9.0.3" {
		t.Errorf("after reserving .2 got %s, want .3", ip)
	}
}

func TestPortAllocator(t *testing.T) {
	busy := map[uint16]bool{61002: true}
	a := newPortAllocator(61000, 61003, func(p uint16) bool { return busy[p] })
	var got []uint16
	for {
		p, err := a.Allocate()
		if errors.Is(err, ErrNoPort) {
			break
		}
		got = append(got, p)
	}
	if want := []uint16{61000, 61001, 61003}; !slices.Equal(got, want) {
		t.Fatalf("allocated %v, want %v (61002 busy on the host)", got, want)
	}
	a.Release(61001)
	a.Reserve(61000)
	if p, err := a.Allocate(); err != nil || p != 61001 {
		t.Errorf("got %d, %v; want 61001", p, err)
	}
}

func TestCPUShares(t *testing.T) {
	for _, tc := range []struct {
		weight int
		want   uint64
	}{{0, 0}, {-1, 0}, {1, 10}, {10, 102}, {50, 512}, {100, 1024}, {1000, 10240}} {
		if got := cpuShares(tc.weight); got != tc.want {
			t.Errorf("cpuShares(%d) = %d, want %d", tc.weight, got, tc.want)
		}
	}
}

func TestProcessEnv(t *testing.T) {
	got := processEnv(execUser{UID: 2000, Name: "vcap"}, []string{"PORT=8080", "HOME=/app"}, []string{"PORT=9090", "X=1"})
	want := []string{"PATH=" + defaultPath, "HOME=/app", "USER=vcap", "LANG=C.UTF-8", "PORT=9090", "X=1"}
	if !slices.Equal(got, want) {
		t.Errorf("processEnv = %v, want %v", got, want)
	}
}

func TestExitStatus(t *testing.T) {
	// Wait statuses: exit code in bits 8-15, terminating signal in 0-6.
	if got := exitStatus(syscall.WaitStatus(3 << 8)); got != (cell.ExitStatus{Code: 3}) {
		t.Errorf("exit 3: %+v", got)
	}
	if got := exitStatus(syscall.WaitStatus(syscall.SIGKILL)); got != (cell.ExitStatus{Code: 137, Signal: syscall.SIGKILL}) {
		t.Errorf("SIGKILL: %+v", got)
	}
}

func TestUnescapeMountPath(t *testing.T) {
	for in, want := range map[string]string{`/a\040b`: "/a b", `/plain`: "/plain", `/x\134y`: `/x\y`, `/end\04`: `/end\04`} {
		if got := unescapeMountPath(in); got != want {
			t.Errorf("unescape(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestResolveRootFS(t *testing.T) {
	h := &hostRootFS{}
	for _, tc := range []struct {
		kind string
		want error
	}{{"", nil}, {"host", nil}, {"docker://alpine", ErrRootFSNotSupported}, {"droplet:x", ErrRootFSNotSupported}, {"preloaded:cflinuxfs4", ErrInvalidSpec}} {
		if _, err := resolveRootFS(tc.kind, h); !errors.Is(err, tc.want) {
			t.Errorf("resolveRootFS(%q) = %v, want %v", tc.kind, err, tc.want)
		}
	}
}

// TestHostRootFS builds a fake host with usrmerge symlinks and checks
// the skeleton and mounts.
func TestHostRootFS(t *testing.T) {
	host := t.TempDir()
	for _, d := range []string{"usr/bin", "usr/lib", "usr/share/zoneinfo/Etc", "sbin", "etc/ssl", "opt"} {
		if err := os.MkdirAll(filepath.Join(host, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Symlink("usr/bin", filepath.Join(host, "bin")))
	must(os.Symlink("usr/lib", filepath.Join(host, "lib")))
	must(os.Symlink("/opt", filepath.Join(host, "lib64"))) // outside the shown tree: bound
	must(os.WriteFile(filepath.Join(host, "usr/share/zoneinfo/Etc/UTC"), []byte("tz"), 0o644))
	must(os.Symlink(filepath.Join(host, "usr/share/zoneinfo/Etc/UTC"), filepath.Join(host, "etc/localtime")))
	must(os.WriteFile(filepath.Join(host, "etc/passwd"), []byte("root:x:0:0::/root:/bin/sh\n"), 0o644))
	must(os.WriteFile(filepath.Join(host, "etc/hosts"), []byte("127.0.0.1 localhost\n"), 0o644))

	h, err := newHostRootFS(host, filepath.Join(t.TempDir(), "skeleton"), "/.extra")
	if err != nil {
		t.Fatal(err)
	}
	etcDir := t.TempDir()
	dir, err := h.Root()
	if err != nil {
		t.Fatal(err)
	}
	if again, err := h.Root(); err != nil || again != dir {
		t.Fatalf("second Root = %q, %v", again, err)
	}
	mounts, err := h.Mounts(etcDir)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, m := range mounts {
		got[m.Destination] = m.Source
		if m.Flags&syscall.MS_RDONLY == 0 {
			t.Errorf("mount %s is writable", m.Destination)
		}
	}
	want := map[string]string{
		"/usr":        filepath.Join(host, "usr"),
		"/sbin":       filepath.Join(host, "sbin"),
		"/lib64":      filepath.Join(host, "lib64"),
		"/etc/passwd": filepath.Join(host, "etc/passwd"),
		"/etc/ssl":    filepath.Join(host, "etc/ssl"),
		"/etc/hosts":  filepath.Join(etcDir, "hosts"), // a per-container copy
		// Empty (none on this fake host) but still covering the mount point.
		"/etc/resolv.conf": filepath.Join(etcDir, "resolv.conf"),
	}
	keys := func(m map[string]string) []string {
		var k []string
		for x := range m {
			k = append(k, x)
		}
		sort.Strings(k)
		return k
	}
	if !slices.Equal(keys(got), keys(want)) {
		t.Fatalf("mount destinations %v, want %v", keys(got), keys(want))
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("mount %s from %s, want %s", k, got[k], v)
		}
	}
	for link, target := range map[string]string{"bin": "usr/bin", "lib": "usr/lib", "etc/localtime": "/usr/share/zoneinfo/Etc/UTC"} {
		if l, err := os.Readlink(filepath.Join(dir, link)); err != nil || l != target {
			t.Errorf("skeleton /%s -> %q (%v), want -> %s", link, l, err, target)
		}
	}
	if b, err := os.ReadFile(filepath.Join(etcDir, "hosts")); err != nil || string(b) != "127.0.0.1 localhost\n" {
		t.Errorf("hosts copy = %q, %v", b, err)
	}
	for _, d := range []string{"proc", "dev", "tmp", "home/vcap/app", "usr", "etc/ssl", ".extra"} {
		if st, err := os.Stat(filepath.Join(dir, d)); err != nil || !st.IsDir() {
			t.Errorf("skeleton lacks /%s", d)
		}
	}
}

// TestProcRecordAlive: a record is alive only while its pid runs with the
// recorded start time; a record without a start time (the process exited
// before it was recorded) is never alive, even though procStartTime of a
// gone pid is 0 too.
func TestProcRecordAlive(t *testing.T) {
	self := os.Getpid()
	tests := []struct {
		name string
		rec  procRecord
		want bool
	}{
		{"this process", procRecord{PID: self, StartTime: procStartTime(self)}, true},
		{"wrong start time", procRecord{PID: self, StartTime: procStartTime(self) + 1}, false},
		{"no start time, live pid", procRecord{PID: self}, false},
		{"no start time, gone pid", procRecord{PID: 1 << 22}, false},
		{"no pid", procRecord{}, false},
	}
	for _, tt := range tests {
		if got := tt.rec.alive(); got != tt.want {
			t.Errorf("%s: alive() = %v, want %v", tt.name, got, tt.want)
		}
	}
}
