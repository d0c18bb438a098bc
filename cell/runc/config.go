package runc

import (
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"strings"
)

// Defaults for Config.
const (
	// DefaultBridgeName is the node bridge every container's veth joins.
	DefaultBridgeName = "diegod0"
	// DefaultSubnet is the container subnet; the bridge takes its first
	// address (the containers' gateway) and containers the rest.
	DefaultSubnet = "10.254.0.0/22"
	// DefaultPortRangeStart and DefaultPortRangeEnd bound the host ports
	// mapped to container ports (inclusive).
	DefaultPortRangeStart = 61000
	DefaultPortRangeEnd   = 61999
	// DefaultUser runs processes whose ProcessSpec names no user. When the
	// host has no such user, "vcap" maps to uid/gid DefaultVcapID.
	DefaultUser = "vcap"
	// DefaultVcapID is the uid and gid of "vcap" when /etc/passwd lacks it
	// (cflinuxfs's vcap is 2000:2000 too).
	DefaultVcapID = 2000
	// DefaultCgroupParent is the cgroup every container's cgroup lives under,
	// in each hierarchy: absolute, so an agent restarted in another cgroup
	// (or a systemd unit being stopped) does not move or kill containers.
	DefaultCgroupParent = "/diegod"
)

// Config configures the libcontainer runtime.
type Config struct {
	// StateDir holds everything the runtime persists: libcontainer state,
	// each container's metadata, root filesystem mount point, writable app
	// directory and network namespace. Required (e.g. <data-dir>/containers).
	StateDir string
	// HostIP is the address reported in ContainerInfo.NetInfo.Address (the
	// address other nodes reach host ports on). Empty means the source
	// address of the host's default route, or 127.0.0.1 without one.
	HostIP string
	// BridgeName is the node bridge (at most 15 characters). Several agents
	// on one machine need distinct bridges, subnets and port ranges.
	BridgeName string
	// Subnet is the IPv4 container subnet in CIDR form (/8 to /29).
	Subnet string
	// PortRangeStart and PortRangeEnd bound host ports (inclusive).
	PortRangeStart int
	PortRangeEnd   int
	// DefaultUser runs processes whose ProcessSpec.User is empty: a user
	// name, "uid" or "uid:gid".
	DefaultUser string
	// CgroupParent is the cgroup path containers live under ("<parent>/<id>").
	// An absolute path is rooted at each hierarchy's root; a relative one is
	// relative to the agent's own cgroup (libcontainer's rule).
	CgroupParent string
	// UserspaceProxy forwards host ports with an in-process TCP proxy instead
	// of nftables DNAT. The proxy is also used when nftables is unavailable.
	UserspaceProxy bool
}

// DefaultConfig returns a Config with every default set and StateDir empty.
func DefaultConfig() Config {
	return Config{
		BridgeName:     DefaultBridgeName,
		Subnet:         DefaultSubnet,
		PortRangeStart: DefaultPortRangeStart,
		PortRangeEnd:   DefaultPortRangeEnd,
		DefaultUser:    DefaultUser,
		CgroupParent:   DefaultCgroupParent,
	}
}

// Validate reports the first invalid field. It does not change c.
func (c Config) Validate() error {
	if c.StateDir == "" {
		return fmt.Errorf("%w: StateDir is required", ErrInvalidConfig)
	}
	if !filepath.IsAbs(c.StateDir) {
		return fmt.Errorf("%w: StateDir %q must be absolute", ErrInvalidConfig, c.StateDir)
	}
	if c.HostIP != "" {
		if ip := net.ParseIP(c.HostIP); ip == nil || ip.To4() == nil {
			return fmt.Errorf("%w: HostIP %q is not an IPv4 address", ErrInvalidConfig, c.HostIP)
		}
	}
	if c.BridgeName == "" || len(c.BridgeName) > 15 || strings.ContainsAny(c.BridgeName, "/ :") {
		return fmt.Errorf("%w: BridgeName %q must be 1 to 15 characters without '/', ' ' or ':'", ErrInvalidConfig, c.BridgeName)
	}
	p, err := netip.ParsePrefix(c.Subnet)
	if err != nil || !p.Addr().Is4() {
		return fmt.Errorf("%w: Subnet %q is not an IPv4 CIDR", ErrInvalidConfig, c.Subnet)
	}
	if p.Bits() < 8 || p.Bits() > 29 {
		return fmt.Errorf("%w: Subnet %q must be /8 to /29", ErrInvalidConfig, c.Subnet)
	}
	if c.PortRangeStart < 1024 || c.PortRangeEnd > 65535 || c.PortRangeStart > c.PortRangeEnd {
		return fmt.Errorf("%w: PortRangeStart..PortRangeEnd %d..%d must be within 1024..65535 and ordered",
			ErrInvalidConfig, c.PortRangeStart, c.PortRangeEnd)
	}
	if c.DefaultUser == "" {
		return fmt.Errorf("%w: DefaultUser is required", ErrInvalidConfig)
	}
	if c.CgroupParent == "" || strings.Contains(c.CgroupParent, "..") {
		return fmt.Errorf("%w: CgroupParent %q must be a non-empty path without '..'", ErrInvalidConfig, c.CgroupParent)
	}
	return nil
}
