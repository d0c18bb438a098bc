package runc

import (
	"net/netip"
)

// ipAllocator hands out container addresses from a subnet: the first host
// address is the bridge's (the gateway), the last is broadcast. It picks the
// next free address after the last one handed out, so a released address is
// not reused at once. Not safe for concurrent use (Runtime.mu guards it).
type ipAllocator struct {
	prefix  netip.Prefix
	gateway netip.Addr
	last    netip.Addr
	used    map[netip.Addr]bool
}

func newIPAllocator(p netip.Prefix) *ipAllocator {
	p = p.Masked()
	gw := p.Addr().Next()
	return &ipAllocator{prefix: p, gateway: gw, last: gw, used: map[netip.Addr]bool{}}
}

// broadcast returns the subnet's last address.
func (a *ipAllocator) broadcast() netip.Addr {
	b := a.prefix.Addr().As4()
	host := uint32(1)<<(32-a.prefix.Bits()) - 1
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	v |= host
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// Allocate returns a free address and marks it used.
func (a *ipAllocator) Allocate() (netip.Addr, error) {
	first, bcast := a.gateway.Next(), a.broadcast()
	n := 1<<(32-a.prefix.Bits()) - 3 // minus network, gateway, broadcast
	ip := a.last
	for i := 0; i < n; i++ {
		ip = ip.Next()
		if ip == bcast || !a.prefix.Contains(ip) {
			ip = first
		}
		if !a.used[ip] {
			a.used[ip] = true
			a.last = ip
			return ip, nil
		}
	}
	return netip.Addr{}, ErrNoAddress
}

// Reserve marks ip used (an address persisted by an earlier run).
func (a *ipAllocator) Reserve(ip netip.Addr) {
	if a.prefix.Contains(ip) {
		a.used[ip] = true
	}
}

// Release frees ip.
func (a *ipAllocator) Release(ip netip.Addr) { delete(a.used, ip) }

// portAllocator hands out host ports from an inclusive range, round robin,
// skipping ports in use and ports inUse reports busy on the host. Not safe
// for concurrent use (Runtime.mu guards it).
type portAllocator struct {
	start, end int
	last       int
	used       map[uint16]bool
	inUse      func(port uint16) bool
}

func newPortAllocator(start, end int, inUse func(uint16) bool) *portAllocator {
	if inUse == nil {
		inUse = func(uint16) bool { return false }
	}
	return &portAllocator{start: start, end: end, last: end, used: map[uint16]bool{}, inUse: inUse}
}

// Allocate returns a free port and marks it used.
func (a *portAllocator) Allocate() (uint16, error) {
	n := a.end - a.start + 1
	p := a.last
	for i := 0; i < n; i++ {
		p++
		if p > a.end {
			p = a.start
		}
		port := uint16(p)
		if a.used[port] || a.inUse(port) {
			continue
		}
		a.used[port] = true
		a.last = p
		return port, nil
	}
	return 0, ErrNoPort
}

// Reserve marks port used.
func (a *portAllocator) Reserve(port uint16) { a.used[port] = true }

// Release frees port.
func (a *portAllocator) Release(port uint16) { delete(a.used, port) }
