package runc

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/opencontainers/cgroups"
	"github.com/opencontainers/cgroups/manager"
	"github.com/opencontainers/runc/libcontainer"
	"github.com/rs/zerolog"
	"github.com/vishvananda/netlink"

	// The devices cgroup controller: without it libcontainer cannot apply
	// the device rules of a container.
	_ "github.com/opencontainers/cgroups/devices"

	"github.com/diegod/diegod/cell"
	"github.com/diegod/diegod/model"
)

// Log field keys.
const (
	keyContainer = "container_id"
	keyPID       = "pid"
	keyIP        = "ip"
)

// Runtime is the libcontainer implementation of cell.Runtime and
// cell.Adopter. All methods are safe for concurrent use; operations on one
// container are serialised.
type Runtime struct {
	cfg    Config
	log    zerolog.Logger
	hostIP string
	lcRoot string
	host   *hostRootFS
	net    *network
	nat    *nftForwarder // nil when nftables is unavailable
	fwd    forwarder

	mu         sync.Mutex
	containers map[string]*container
	ips        *ipAllocator
	ports      *portAllocator
}

var (
	_ cell.Runtime = (*Runtime)(nil)
	_ cell.Adopter = (*Runtime)(nil)
)

// container is the runtime's record of one container.
type container struct {
	// mu serialises Create, Run and Destroy on the container and guards
	// meta, lc, cg and destroyed.
	mu        sync.Mutex
	meta      *meta
	lc        *libcontainer.Container // nil if libcontainer lost its state
	cg        cgroups.Manager         // nil if unknown
	initDone  chan struct{}           // closed when our child init exits; nil when created by an earlier run
	destroyed bool
	// keeper is the connection to the pause process (keeper.go).
	keeper       *net.UnixConn
	keeperFailed bool

	pmu   sync.Mutex
	procs map[*process]struct{} // live processes this agent started
}

// New opens the runtime: it sets up the bridge and NAT, reloads the
// containers an earlier run left in cfg.StateDir (destroying half-created
// ones) and restores their port forwarding.
func New(cfg Config, log zerolog.Logger) (*Runtime, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log = log.With().Str("component", "runc").Logger()
	prefix := netip.MustParsePrefix(cfg.Subnet).Masked()
	r := &Runtime{
		cfg:        cfg,
		log:        log,
		lcRoot:     filepath.Join(cfg.StateDir, libcontainerDir),
		net:        newNetwork(cfg.BridgeName, prefix),
		containers: map[string]*container{},
		ips:        newIPAllocator(prefix),
		ports:      newPortAllocator(cfg.PortRangeStart, cfg.PortRangeEnd, hostPortBusy),
	}
	for _, d := range []string{r.lcRoot, filepath.Join(cfg.StateDir, instancesDir)} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("create state dir: %w", err)
		}
	}
	host, err := newHostRootFS("/", filepath.Join(cfg.StateDir, rootfsDir, RootFSHost), ctlMount)
	if err != nil {
		return nil, err
	}
	r.host = host
	r.hostIP = cfg.HostIP
	if r.hostIP == "" {
		r.hostIP = defaultHostIP()
	}
	if err := r.net.setupBridge(); err != nil {
		return nil, err
	}
	if err := r.reload(); err != nil {
		return nil, err
	}
	if !seccompSupported() {
		log.Warn().Msg("seccomp unavailable in this kernel: containers run without a syscall filter")
	}
	log.Info().Str("bridge", cfg.BridgeName).Str("subnet", prefix.String()).Str("host_ip", r.hostIP).
		Bool("nftables", r.nat != nil).Int("containers", len(r.containers)).Msg("runtime ready")
	return r, nil
}

// reload rebuilds the in-memory records from StateDir, syncs port
// forwarding to them and destroys what an interrupted Create left.
func (r *Runtime) reload() error {
	metas, bad, err := r.loadMetas()
	if err != nil {
		return err
	}
	all := map[string]forwarding{}
	var leftovers []*container
	for _, m := range metas {
		c := &container{meta: m, procs: map[*process]struct{}{}}
		if lc, err := libcontainer.Load(r.lcRoot, m.ID); err == nil {
			c.lc = lc
			c.cg = cgroupManager(lc)
		}
		if !m.Ready {
			leftovers = append(leftovers, c)
			continue
		}
		r.ips.Reserve(m.IP)
		for _, p := range m.Ports {
			r.ports.Reserve(p.HostPort)
		}
		r.containers[m.ID] = c
		all[m.ID] = forwarding{IP: m.IP, Ports: m.Ports}
	}
	r.setupForwarding(all)
	for _, id := range bad {
		leftovers = append(leftovers, &container{meta: &meta{ID: id}})
	}
	// libcontainer state without our record: a Destroy that lost its
	// files but not its processes, or a crash inside Create.
	if entries, err := os.ReadDir(r.lcRoot); err == nil {
		for _, e := range entries {
			if _, ok := r.containers[e.Name()]; ok || !e.IsDir() || slices.Contains(bad, e.Name()) || hasID(leftovers, e.Name()) {
				continue
			}
			leftovers = append(leftovers, &container{meta: &meta{ID: e.Name()}})
		}
	}
	for _, c := range leftovers {
		r.log.Warn().Str(keyContainer, c.meta.ID).Msg("destroying half-created container")
		if err := r.teardown(context.Background(), c); err != nil {
			r.log.Warn().Err(err).Str(keyContainer, c.meta.ID).Msg("destroy half-created container")
		}
	}
	return nil
}

func hasID(cs []*container, id string) bool {
	for _, c := range cs {
		if c.meta.ID == id {
			return true
		}
	}
	return false
}

// setupForwarding installs the NAT table and picks the port forwarder:
// nftables DNAT, or the userspace proxy when configured or when nftables
// is unavailable.
func (r *Runtime) setupForwarding(all map[string]forwarding) {
	nat := newNFTForwarder(r.cfg.BridgeName, r.net.prefix)
	var natAll map[string]forwarding
	if !r.cfg.UserspaceProxy {
		natAll = all
	}
	if err := nat.Sync(natAll); err != nil {
		r.log.Warn().Err(err).Msg("nftables unavailable: host ports use the userspace proxy and containers have no egress NAT")
	} else {
		r.nat = nat
	}
	if r.nat != nil && !r.cfg.UserspaceProxy {
		r.fwd = r.nat
		return
	}
	proxy := newProxyForwarder(r.log)
	if err := proxy.Sync(all); err != nil {
		r.log.Warn().Err(err).Msg("proxy host ports")
	}
	r.fwd = proxy
}

// cgroupManager returns a manager for a loaded container's cgroup paths.
func cgroupManager(lc *libcontainer.Container) cgroups.Manager {
	st, err := lc.State()
	if err != nil {
		return nil
	}
	cfg := lc.Config()
	// State shares its paths map with libcontainer's own manager, whose
	// Destroy edits it: copy.
	paths := make(map[string]string, len(st.CgroupPaths))
	for k, v := range st.CgroupPaths {
		paths[k] = v
	}
	m, err := manager.NewWithPaths(cfg.Cgroups, paths)
	if err != nil {
		return nil
	}
	return m
}

// defaultHostIP is the source address of the default route, or 127.0.0.1.
func defaultHostIP() string {
	routes, err := netlink.RouteGet(net.IPv4(192, 0, 2, 255))
	if err == nil {
		for _, rt := range routes {
			if rt.Src != nil && !rt.Src.IsLoopback() {
				return rt.Src.String()
			}
		}
	}
	return "127.0.0.1"
}

// hostPortBusy reports whether a host process listens on port (DNAT would
// steal its traffic).
func hostPortBusy(port uint16) bool {
	ln, err := net.Listen("tcp4", ":"+strconv.Itoa(int(port)))
	if err != nil {
		return true
	}
	ln.Close()
	return false
}

// seccompSupported reports whether the kernel has seccomp filters.
func seccompSupported() bool {
	b, err := os.ReadFile("/proc/self/status")
	return err == nil && regexp.MustCompile(`(?m)^Seccomp:`).Match(b)
}

var validID = regexp.MustCompile(`^[A-Za-z0-9_+\-][A-Za-z0-9_+\-.]{0,127}$`)

// validateSpec checks what Create cannot honour.
func validateSpec(spec cell.ContainerSpec) error {
	if !validID.MatchString(spec.ID) {
		return fmt.Errorf("%w: id %q must be 1 to 128 of [A-Za-z0-9_+-.] not starting with '.'", ErrInvalidSpec, spec.ID)
	}
	l := spec.Limits
	if l.MemoryMB < 0 || l.DiskMB < 0 || l.CPUWeight < 0 || l.MaxPids < 0 {
		return fmt.Errorf("%w: negative limit", ErrInvalidSpec)
	}
	if l.MemoryMB > 0 && l.MemoryMB < 6 {
		return fmt.Errorf("%w: memory_mb %d is below the 6 MB a container needs to start", ErrInvalidSpec, l.MemoryMB)
	}
	seen := map[uint16]bool{}
	for _, p := range spec.Ports {
		if p == 0 || seen[p] {
			return fmt.Errorf("%w: port %d is zero or repeated", ErrInvalidSpec, p)
		}
		seen[p] = true
	}
	return nil
}

// Create implements cell.Runtime.
func (r *Runtime) Create(ctx context.Context, spec cell.ContainerSpec) (cell.ContainerInfo, error) {
	if err := validateSpec(spec); err != nil {
		return cell.ContainerInfo{}, err
	}
	rfs, err := resolveRootFS(spec.RootFS, r.host)
	if err != nil {
		return cell.ContainerInfo{}, err
	}
	c, err := r.reserve(spec)
	if err != nil {
		return cell.ContainerInfo{}, err
	}
	defer c.mu.Unlock()
	if err := r.build(c, spec, rfs); err != nil {
		r.log.Warn().Err(err).Str(keyContainer, spec.ID).Msg("create failed")
		r.teardown(ctx, c)
		r.forget(c)
		return cell.ContainerInfo{}, fmt.Errorf("create container %s: %w", spec.ID, err)
	}
	r.log.Debug().Str(keyContainer, spec.ID).Str(keyIP, c.meta.IP.String()).Msg("container created")
	return r.info(c), nil
}

// reserve registers a new container with its address and host ports and
// returns it locked.
func (r *Runtime) reserve(spec cell.ContainerSpec) (*container, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.containers[spec.ID]; ok {
		return nil, fmt.Errorf("create container %s: %w", spec.ID, ErrExists)
	}
	if _, err := os.Stat(r.instanceDir(spec.ID)); err == nil {
		return nil, fmt.Errorf("create container %s: %w (state directory left behind)", spec.ID, ErrExists)
	}
	ip, err := r.ips.Allocate()
	if err != nil {
		return nil, fmt.Errorf("create container %s: %w", spec.ID, err)
	}
	var ports []model.PortMapping
	for _, cp := range spec.Ports {
		hp, err := r.ports.Allocate()
		if err != nil {
			r.ips.Release(ip)
			for _, p := range ports {
				r.ports.Release(p.HostPort)
			}
			return nil, fmt.Errorf("create container %s: %w", spec.ID, err)
		}
		ports = append(ports, model.PortMapping{ContainerPort: cp, HostPort: hp})
	}
	c := &container{
		meta: &meta{
			ID:        spec.ID,
			Labels:    copyLabels(spec.Labels),
			RootFS:    spec.RootFS,
			Limits:    spec.Limits,
			Env:       append([]string(nil), spec.Env...),
			IP:        ip,
			Ports:     ports,
			CreatedAt: time.Now().UTC(),
		},
		procs: map[*process]struct{}{},
	}
	c.mu.Lock()
	r.containers[spec.ID] = c
	return c, nil
}

// forget drops a container and releases its address and ports.
func (r *Runtime) forget(c *container) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.containers[c.meta.ID] == c {
		delete(r.containers, c.meta.ID)
	}
	r.ips.Release(c.meta.IP)
	for _, p := range c.meta.Ports {
		r.ports.Release(p.HostPort)
	}
}

// build makes everything a new container needs; c.mu is held.
func (r *Runtime) build(c *container, spec cell.ContainerSpec, rfs rootFS) error {
	m := c.meta
	dir := r.instanceDir(m.ID)
	appDir, etcDir, ctlDir := filepath.Join(dir, "app"), filepath.Join(dir, "etc"), filepath.Join(dir, ctlDirName)
	for _, d := range []string{dir, appDir, etcDir, ctlDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("create %s: %w", d, err)
		}
	}
	// Only the pause process (and the agent) may use the control socket.
	if err := os.Chown(ctlDir, pauseUID, pauseUID); err != nil {
		return fmt.Errorf("chown ctl dir: %w", err)
	}
	if err := os.Chmod(ctlDir, 0o700); err != nil {
		return fmt.Errorf("chmod ctl dir: %w", err)
	}
	if err := r.saveMeta(m); err != nil {
		return err
	}
	rootfs, err := rfs.Root()
	if err != nil {
		return err
	}
	mounts, err := rfs.Mounts(etcDir)
	if err != nil {
		return err
	}
	if err := appendHosts(filepath.Join(etcDir, "hosts"), m.IP, spec.ID); err != nil {
		return err
	}
	if u, err := resolveUser(rfs, r.cfg.DefaultUser); err == nil {
		if err := os.Chown(appDir, u.UID, u.GID); err != nil {
			return fmt.Errorf("chown app dir: %w", err)
		}
	}
	nsPath := filepath.Join(dir, "netns")
	if err := createNetns(nsPath); err != nil {
		return err
	}
	if err := r.net.attach(m.ID, nsPath, m.IP); err != nil {
		return err
	}
	if err := r.fwd.Add(m.ID, forwarding{IP: m.IP, Ports: m.Ports}); err != nil {
		return err
	}
	lc, err := libcontainer.Create(r.lcRoot, m.ID, containerConfig(r.cfg.CgroupParent, spec, rootfs, appDir, ctlDir, nsPath, mounts))
	if err != nil {
		return fmt.Errorf("libcontainer create: %w", err)
	}
	c.lc = lc
	init := pauseProcess()
	if err := lc.Run(init); err != nil {
		return fmt.Errorf("start init: %w", err)
	}
	c.initDone = make(chan struct{})
	go func(done chan struct{}) {
		_, _ = init.Wait()
		close(done)
	}(c.initDone)
	c.cg = cgroupManager(lc)
	m.Ready = true
	return r.saveMeta(m)
}

// appendHosts adds "<ip> <name>" to a container's copy of /etc/hosts.
func appendHosts(path string, ip netip.Addr, name string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("write hosts: %w", err)
	}
	if len(name) > 63 {
		name = name[:63]
	}
	_, err = fmt.Fprintf(f, "%s\t%s\n", ip, name)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func copyLabels(l map[string]string) map[string]string {
	if l == nil {
		return nil
	}
	out := make(map[string]string, len(l))
	for k, v := range l {
		out[k] = v
	}
	return out
}

// get returns the container with id.
func (r *Runtime) get(id string) (*container, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.containers[id]
	if !ok {
		return nil, fmt.Errorf("container %s: %w", id, ErrNotFound)
	}
	return c, nil
}

// Destroy implements cell.Runtime.
func (r *Runtime) Destroy(ctx context.Context, id string) error {
	r.mu.Lock()
	c, ok := r.containers[id]
	r.mu.Unlock()
	if !ok {
		if !validID.MatchString(id) {
			return nil
		}
		if _, err := os.Stat(r.instanceDir(id)); err != nil {
			return nil
		}
		// Files without a record (a Create that failed to clean up).
		c = &container{meta: &meta{ID: id}}
		c.mu.Lock()
	} else {
		c.mu.Lock()
	}
	defer c.mu.Unlock()
	if c.destroyed {
		return nil
	}
	err := r.teardown(ctx, c)
	if err != nil {
		return fmt.Errorf("destroy container %s: %w", id, err)
	}
	c.destroyed = true
	r.forget(c)
	r.log.Debug().Str(keyContainer, id).Msg("container destroyed")
	return nil
}

// Close releases what the runtime holds in this process (userspace port
// proxies, connections to pause processes, which then drain the output of
// the processes this runtime started). Containers, their cgroups, namespaces and NAT rules stay: a new
// Runtime on the same StateDir finds them.
func (r *Runtime) Close() error {
	r.mu.Lock()
	cs := make([]*container, 0, len(r.containers))
	for _, c := range r.containers {
		cs = append(cs, c)
	}
	r.mu.Unlock()
	for _, c := range cs {
		c.mu.Lock()
		if c.keeper != nil {
			_ = c.keeper.Close()
			c.keeper = nil
		}
		c.mu.Unlock()
	}
	return r.fwd.Close()
}
