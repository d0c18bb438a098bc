package runc

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"runtime"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// network owns the node bridge and each container's network namespace and
// veth pair. Its methods are safe for concurrent use (each touches only
// its own container's links).
type network struct {
	bridge  string
	prefix  netip.Prefix
	gateway netip.Addr
	mtu     int
}

func newNetwork(bridge string, prefix netip.Prefix) *network {
	prefix = prefix.Masked()
	return &network{bridge: bridge, prefix: prefix, gateway: prefix.Addr().Next()}
}

// setupBridge creates the bridge if needed, gives it the gateway address,
// brings it up and turns on forwarding (ip_forward, and route_localnet on
// the bridge so host connections to 127.0.0.1:<host port> can be DNATed to
// a container).
func (n *network) setupBridge() error {
	link, err := netlink.LinkByName(n.bridge)
	if err != nil {
		var nf netlink.LinkNotFoundError
		if !errors.As(err, &nf) {
			return fmt.Errorf("find bridge %s: %w", n.bridge, err)
		}
		br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: n.bridge}}
		if err := netlink.LinkAdd(br); err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("create bridge %s: %w", n.bridge, err)
		}
		if link, err = netlink.LinkByName(n.bridge); err != nil {
			return fmt.Errorf("find bridge %s: %w", n.bridge, err)
		}
	}
	if _, ok := link.(*netlink.Bridge); !ok {
		return fmt.Errorf("link %s exists and is a %s, not a bridge", n.bridge, link.Type())
	}
	addr := &netlink.Addr{IPNet: &net.IPNet{IP: n.gateway.AsSlice(), Mask: net.CIDRMask(n.prefix.Bits(), 32)}}
	if err := netlink.AddrReplace(link, addr); err != nil {
		return fmt.Errorf("address bridge %s: %w", n.bridge, err)
	}
	if err := netlink.LinkSetUp(link); err != nil {
		return fmt.Errorf("bring up bridge %s: %w", n.bridge, err)
	}
	n.mtu = link.Attrs().MTU
	if n.mtu == 0 {
		n.mtu = 1500
	}
	for _, s := range []struct{ path, value string }{
		{"/proc/sys/net/ipv4/ip_forward", "1"},
		{"/proc/sys/net/ipv4/conf/" + n.bridge + "/route_localnet", "1"},
	} {
		if err := os.WriteFile(s.path, []byte(s.value), 0o644); err != nil {
			return fmt.Errorf("set %s: %w", s.path, err)
		}
	}
	return nil
}

// vethName is the host end of a container's veth pair: "dg" and 12 hex
// digits of the id's hash (interface names have at most 15 characters).
func vethName(id string) string {
	sum := sha256.Sum256([]byte(id))
	return "dg" + hex.EncodeToString(sum[:6])
}

// createNetns makes a new network namespace and pins it by bind-mounting
// it on path (an empty file is created).
func createNetns(path string) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_RDONLY, 0o444)
	if err != nil {
		return fmt.Errorf("create netns file: %w", err)
	}
	f.Close()
	errc := make(chan error, 1)
	go func() {
		// The thread enters the new namespace and goes back to ours. If
		// it cannot go back it stays locked, so the runtime discards it
		// (the main thread would be wedged instead, pinning the namespace:
		// going back matters).
		runtime.LockOSThread()
		orig, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("open netns: %w", err)
			return
		}
		defer orig.Close()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("unshare netns: %w", err)
			return
		}
		err = unix.Mount("/proc/thread-self/ns/net", path, "none", unix.MS_BIND, "")
		if serr := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); serr != nil {
			errc <- errors.Join(err, fmt.Errorf("return to host netns: %w", serr))
			return // thread stays locked and dies
		}
		runtime.UnlockOSThread()
		if err != nil {
			err = fmt.Errorf("bind netns: %w", err)
		}
		errc <- err
	}()
	if err := <-errc; err != nil {
		os.Remove(path)
		return err
	}
	return nil
}

// removeNetns unmounts and removes a pinned namespace. A missing file is
// not an error.
func removeNetns(path string) error {
	if err := unix.Unmount(path, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("unmount netns %s: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove netns %s: %w", path, err)
	}
	return nil
}

// attach creates the container's veth pair: the host end on the bridge,
// the other end as eth0 in the namespace at nsPath with address ip and a
// default route through the bridge.
func (n *network) attach(id, nsPath string, ip netip.Addr) error {
	br, err := netlink.LinkByName(n.bridge)
	if err != nil {
		return fmt.Errorf("find bridge %s: %w", n.bridge, err)
	}
	ns, err := netns.GetFromPath(nsPath)
	if err != nil {
		return fmt.Errorf("open netns: %w", err)
	}
	defer ns.Close()
	host := vethName(id)
	veth := &netlink.Veth{
		LinkAttrs:     netlink.LinkAttrs{Name: host, MTU: n.mtu, MasterIndex: br.Attrs().Index, TxQLen: -1},
		PeerName:      "eth0",
		PeerNamespace: netlink.NsFd(ns),
		PeerMTU:       uint32(n.mtu),
		PeerTxQLen:    -1,
	}
	if err := netlink.LinkAdd(veth); err != nil {
		return fmt.Errorf("create veth %s: %w", host, err)
	}
	hl, err := netlink.LinkByName(host)
	if err != nil {
		return fmt.Errorf("find veth %s: %w", host, err)
	}
	if err := netlink.LinkSetUp(hl); err != nil {
		return fmt.Errorf("bring up veth %s: %w", host, err)
	}
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return fmt.Errorf("netlink in netns: %w", err)
	}
	defer h.Close()
	lo, err := h.LinkByName("lo")
	if err != nil {
		return fmt.Errorf("find lo: %w", err)
	}
	if err := h.LinkSetUp(lo); err != nil {
		return fmt.Errorf("bring up lo: %w", err)
	}
	eth, err := h.LinkByName("eth0")
	if err != nil {
		return fmt.Errorf("find eth0: %w", err)
	}
	addr := &netlink.Addr{IPNet: &net.IPNet{IP: ip.AsSlice(), Mask: net.CIDRMask(n.prefix.Bits(), 32)}}
	if err := h.AddrAdd(eth, addr); err != nil {
		return fmt.Errorf("address eth0: %w", err)
	}
	if err := h.LinkSetUp(eth); err != nil {
		return fmt.Errorf("bring up eth0: %w", err)
	}
	route := &netlink.Route{LinkIndex: eth.Attrs().Index, Gw: n.gateway.AsSlice()}
	if err := h.RouteAdd(route); err != nil {
		return fmt.Errorf("default route: %w", err)
	}
	return nil
}

// detach deletes the container's veth (both ends). A missing link is not an
// error.
func (n *network) detach(id string) error {
	l, err := netlink.LinkByName(vethName(id))
	if err != nil {
		var nf netlink.LinkNotFoundError
		if errors.As(err, &nf) {
			return nil
		}
		return fmt.Errorf("find veth: %w", err)
	}
	if err := netlink.LinkDel(l); err != nil {
		return fmt.Errorf("delete veth %s: %w", l.Attrs().Name, err)
	}
	return nil
}
