package runc

import (
	"fmt"
	"net/netip"
	"sync"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
	"golang.org/x/sys/unix"

	"github.com/diegod/diegod/model"
)

// forwarder makes host ports reach container ports. Implementations:
// nftForwarder (kernel DNAT, the default) and proxyForwarder (userspace).
// Methods are safe for concurrent use.
type forwarder interface {
	// Sync replaces every forwarding with all (at startup, from the
	// persisted containers).
	Sync(all map[string]forwarding) error
	// Add forwards f's host ports to its container.
	Add(id string, f forwarding) error
	// Remove stops forwarding id's ports. Unknown ids are not an error.
	Remove(id string) error
	// Ports returns the host ports currently forwarded for id.
	Ports(id string) ([]uint16, error)
	// Close releases what the forwarder holds in this process (kernel rules
	// stay: they belong to the containers).
	Close() error
}

// forwarding is one container's port mappings.
type forwarding struct {
	IP    netip.Addr
	Ports []model.PortMapping
}

// nftForwarder keeps one nftables table (named after the bridge, family ip)
// with three NAT chains:
//
//	prerouting, output: fib daddr type local tcp dport <host port> dnat to <container ip>:<port>
//	                    (one rule per mapping, tagged with the container id)
//	postrouting:        ip saddr <subnet> ip daddr != <subnet> masquerade      (egress)
//	                    ip saddr 127.0.0.0/8 oifname <bridge> masquerade       (host 127.0.0.1 -> container)
//	                    ip saddr <subnet> oifname <bridge> ct status dnat masquerade (container -> host port)
type nftForwarder struct {
	mu     sync.Mutex
	table  *nftables.Table
	pre    *nftables.Chain
	out    *nftables.Chain
	post   *nftables.Chain
	bridge string
	prefix netip.Prefix
}

func newNFTForwarder(bridge string, prefix netip.Prefix) *nftForwarder {
	t := &nftables.Table{Name: bridge, Family: nftables.TableFamilyIPv4}
	return &nftForwarder{
		table:  t,
		pre:    &nftables.Chain{Name: "prerouting", Table: t, Type: nftables.ChainTypeNAT, Hooknum: nftables.ChainHookPrerouting, Priority: nftables.ChainPriorityNATDest},
		out:    &nftables.Chain{Name: "output", Table: t, Type: nftables.ChainTypeNAT, Hooknum: nftables.ChainHookOutput, Priority: nftables.ChainPriorityNATDest},
		post:   &nftables.Chain{Name: "postrouting", Table: t, Type: nftables.ChainTypeNAT, Hooknum: nftables.ChainHookPostrouting, Priority: nftables.ChainPriorityNATSource},
		bridge: bridge,
		prefix: prefix.Masked(),
	}
}

// Sync implements forwarder: it rebuilds the whole table in one atomic
// netlink batch.
func (f *nftForwarder) Sync(all map[string]forwarding) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, err := nftables.New()
	if err != nil {
		return fmt.Errorf("nftables: %w", err)
	}
	// Add-then-delete removes a table that may or may not exist.
	c.AddTable(f.table)
	c.DelTable(f.table)
	c.AddTable(f.table)
	c.AddChain(f.pre)
	c.AddChain(f.out)
	c.AddChain(f.post)
	for _, r := range f.postRules() {
		c.AddRule(r)
	}
	for _, id := range sortedKeys(all) {
		for _, r := range f.dnatRules(id, all[id]) {
			c.AddRule(r)
		}
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("nftables sync table %s: %w", f.table.Name, err)
	}
	return nil
}

// Add implements forwarder.
func (f *nftForwarder) Add(id string, fw forwarding) error {
	if len(fw.Ports) == 0 {
		return nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	c, err := nftables.New()
	if err != nil {
		return fmt.Errorf("nftables: %w", err)
	}
	for _, r := range f.dnatRules(id, fw) {
		c.AddRule(r)
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("nftables add rules for %s: %w", id, err)
	}
	return nil
}

// Remove implements forwarder.
func (f *nftForwarder) Remove(id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, err := nftables.New()
	if err != nil {
		return fmt.Errorf("nftables: %w", err)
	}
	n := 0
	for _, ch := range []*nftables.Chain{f.pre, f.out} {
		rules, err := c.GetRules(f.table, ch)
		if err != nil {
			return fmt.Errorf("nftables list %s: %w", ch.Name, err)
		}
		for _, r := range rules {
			if tag, ok := userdata.GetString(r.UserData, userdata.TypeComment); ok && tag == id {
				if err := c.DelRule(r); err != nil {
					return fmt.Errorf("nftables delete rule: %w", err)
				}
				n++
			}
		}
	}
	if n == 0 {
		return nil
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("nftables remove rules for %s: %w", id, err)
	}
	return nil
}

// Ports implements forwarder.
func (f *nftForwarder) Ports(id string) ([]uint16, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, err := nftables.New()
	if err != nil {
		return nil, fmt.Errorf("nftables: %w", err)
	}
	rules, err := c.GetRules(f.table, f.pre)
	if err != nil {
		return nil, fmt.Errorf("nftables list %s: %w", f.pre.Name, err)
	}
	var ports []uint16
	for _, r := range rules {
		if tag, ok := userdata.GetString(r.UserData, userdata.TypeComment); !ok || tag != id {
			continue
		}
		for _, e := range r.Exprs {
			if cmp, ok := e.(*expr.Cmp); ok && len(cmp.Data) == 2 {
				ports = append(ports, binaryutil.BigEndian.Uint16(cmp.Data))
			}
		}
	}
	return ports, nil
}

// Close implements forwarder.
func (f *nftForwarder) Close() error { return nil }

// deleteTable removes the table (tests, and a node that stops using it).
func (f *nftForwarder) deleteTable() error {
	c, err := nftables.New()
	if err != nil {
		return err
	}
	c.AddTable(f.table)
	c.DelTable(f.table)
	return c.Flush()
}

// dnatRules are a container's DNAT rules for prerouting and output.
func (f *nftForwarder) dnatRules(id string, fw forwarding) []*nftables.Rule {
	var rules []*nftables.Rule
	ud := userdata.AppendString(nil, userdata.TypeComment, id)
	ip := fw.IP.As4()
	for _, m := range fw.Ports {
		for _, ch := range []*nftables.Chain{f.pre, f.out} {
			rules = append(rules, &nftables.Rule{
				Table:    f.table,
				Chain:    ch,
				UserData: ud,
				Exprs: []expr.Any{
					// fib daddr type local
					&expr.Fib{Register: 1, FlagDADDR: true, ResultADDRTYPE: true},
					&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.NativeEndian.PutUint32(unix.RTN_LOCAL)},
					// meta l4proto tcp
					&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
					&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{unix.IPPROTO_TCP}},
					// tcp dport <host port>
					&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
					&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.BigEndian.PutUint16(m.HostPort)},
					// dnat to <ip>:<port>
					&expr.Immediate{Register: 1, Data: ip[:]},
					&expr.Immediate{Register: 2, Data: binaryutil.BigEndian.PutUint16(m.ContainerPort)},
					&expr.NAT{Type: expr.NATTypeDestNAT, Family: unix.NFPROTO_IPV4, RegAddrMin: 1, RegProtoMin: 2, Specified: true},
				},
			})
		}
	}
	return rules
}

// postRules are the static postrouting masquerade rules.
func (f *nftForwarder) postRules() []*nftables.Rule {
	net4 := f.prefix.Addr().As4()
	mask := maskBytes(f.prefix.Bits())
	ifname := make([]byte, unix.IFNAMSIZ)
	copy(ifname, f.bridge)
	saddrIn := func(network [4]byte, m []byte) []expr.Any {
		return []expr.Any{
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 12, Len: 4},
			&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: m, Xor: []byte{0, 0, 0, 0}},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: network[:]},
		}
	}
	oifBridge := []expr.Any{
		&expr.Meta{Key: expr.MetaKeyOIFNAME, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: ifname},
	}
	egress := append(saddrIn(net4, mask),
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 16, Len: 4},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: mask, Xor: []byte{0, 0, 0, 0}},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: net4[:]},
		&expr.Masq{},
	)
	loopback := append(append(saddrIn([4]byte{127, 0, 0, 0}, maskBytes(8)), oifBridge...), &expr.Masq{})
	hairpin := append(append(saddrIn(net4, mask), oifBridge...),
		&expr.Ct{Register: 1, Key: expr.CtKeySTATUS},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4,
			Mask: binaryutil.NativeEndian.PutUint32(ctStatusDstNAT), Xor: binaryutil.NativeEndian.PutUint32(0)},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: binaryutil.NativeEndian.PutUint32(0)},
		&expr.Masq{},
	)
	var rules []*nftables.Rule
	for _, exprs := range [][]expr.Any{egress, loopback, hairpin} {
		rules = append(rules, &nftables.Rule{Table: f.table, Chain: f.post, Exprs: exprs})
	}
	return rules
}

// ctStatusDstNAT is IPS_DST_NAT (the connection was DNATed).
const ctStatusDstNAT = 1 << 5

// maskBytes is an IPv4 netmask of bits ones.
func maskBytes(bits int) []byte {
	m := uint32(0xffffffff) << (32 - bits)
	if bits == 0 {
		m = 0
	}
	return []byte{byte(m >> 24), byte(m >> 16), byte(m >> 8), byte(m)}
}
