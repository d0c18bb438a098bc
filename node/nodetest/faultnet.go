package nodetest

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/memberlist"

	"github.com/diegod/diegod/node"
)

// ErrFault is the error of a connection the FaultNet refused.
var ErrFault = errors.New("nodetest: connection cut by fault injection")

// FaultNet is a node.Network over the real loopback network that can cut
// or slow nodes: Partition isolates a node (every connection to or from it
// is closed and new ones are refused, gossip packets are dropped), Block
// cuts one link, SetDelay delays every write a node sends. Raft, gossip,
// joins and forwarded API calls all go through it, under their TLS.
//
// It is safe for concurrent use.
type FaultNet struct {
	mu    sync.Mutex
	owner map[string]string // listen address (TCP or gossip) -> node
	cut   map[string]bool
	links map[[2]string]bool
	delay map[string]time.Duration
	conns map[string]map[*faultConn]struct{} // node -> open connections touching it
}

// NewFaultNet returns a network with no faults.
func NewFaultNet() *FaultNet {
	return &FaultNet{owner: map[string]string{}, cut: map[string]bool{}, links: map[[2]string]bool{},
		delay: map[string]time.Duration{}, conns: map[string]map[*faultConn]struct{}{}}
}

// For returns the network as node name sees it.
func (f *FaultNet) For(name string) node.Network { return &nodeNet{f: f, name: name} }

// Partition isolates name from every other node.
func (f *FaultNet) Partition(name string) {
	f.mu.Lock()
	f.cut[name] = true
	victims := f.takeConns(name, "")
	f.mu.Unlock()
	closeAll(victims)
}

// Heal ends the isolation of name.
func (f *FaultNet) Heal(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.cut, name)
}

// Block cuts the link between a and b only.
func (f *FaultNet) Block(a, b string) {
	f.mu.Lock()
	f.links[pair(a, b)] = true
	victims := f.takeConns(a, b)
	f.mu.Unlock()
	closeAll(victims)
}

// Unblock restores the link between a and b.
func (f *FaultNet) Unblock(a, b string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.links, pair(a, b))
}

// SetDelay delays every write (and gossip packet) name sends by d.
func (f *FaultNet) SetDelay(name string, d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.delay[name] = d
}

func pair(a, b string) [2]string {
	if a > b {
		a, b = b, a
	}
	return [2]string{a, b}
}

// blocked reports whether traffic between a and b is cut ("" is an
// address no node owns: only a's own isolation applies).
func (f *FaultNet) blocked(a, b string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.blockedLocked(a, b)
}

func (f *FaultNet) blockedLocked(a, b string) bool {
	if a == b {
		return false
	}
	return f.cut[a] || (b != "" && (f.cut[b] || f.links[pair(a, b)]))
}

func (f *FaultNet) ownerOf(addr string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.owner[addr]
}

func (f *FaultNet) delayOf(name string) time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.delay[name]
}

// takeConns removes and returns the connections of a (with b, if set).
func (f *FaultNet) takeConns(a, b string) []*faultConn {
	var out []*faultConn
	for c := range f.conns[a] {
		if b == "" || c.local == b || c.remote == b {
			out = append(out, c)
		}
	}
	for _, c := range out {
		f.untrackLocked(c)
	}
	return out
}

func (f *FaultNet) track(c *faultConn) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, n := range []string{c.local, c.remote} {
		if n == "" {
			continue
		}
		if f.conns[n] == nil {
			f.conns[n] = map[*faultConn]struct{}{}
		}
		f.conns[n][c] = struct{}{}
	}
}

func (f *FaultNet) untrackLocked(c *faultConn) {
	delete(f.conns[c.local], c)
	delete(f.conns[c.remote], c)
}

func closeAll(cs []*faultConn) {
	for _, c := range cs {
		c.Conn.Close()
	}
}

// faultConn is a tracked connection whose writes can be delayed.
type faultConn struct {
	net.Conn
	f             *FaultNet
	local, remote string
	once          sync.Once
}

func (c *faultConn) Write(p []byte) (int, error) {
	if d := c.f.delayOf(c.local); d > 0 {
		time.Sleep(d)
	}
	if c.f.blocked(c.local, c.remote) {
		c.Close()
		return 0, &net.OpError{Op: "write", Net: "tcp", Err: ErrFault}
	}
	return c.Conn.Write(p)
}

func (c *faultConn) Close() error {
	c.once.Do(func() {
		c.f.mu.Lock()
		c.f.untrackLocked(c)
		c.f.mu.Unlock()
	})
	return c.Conn.Close()
}

// nodeNet is one node's view of the FaultNet.
type nodeNet struct {
	f    *FaultNet
	name string
}

var _ node.Network = (*nodeNet)(nil)

func (n *nodeNet) register(addr string) {
	n.f.mu.Lock()
	defer n.f.mu.Unlock()
	n.f.owner[addr] = n.name
}

// Listen implements node.Network.
func (n *nodeNet) Listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	n.register(ln.Addr().String())
	return &faultListener{Listener: ln, n: n}, nil
}

// DialContext implements node.Network.
func (n *nodeNet) DialContext(ctx context.Context, addr string) (net.Conn, error) {
	to := n.f.ownerOf(addr)
	if n.f.blocked(n.name, to) {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: ErrFault}
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	fc := &faultConn{Conn: c, f: n.f, local: n.name, remote: to}
	n.f.track(fc)
	return fc, nil
}

// GossipTransport implements node.Network.
func (n *nodeNet) GossipTransport(ip string, port int, logger *log.Logger) (memberlist.NodeAwareTransport, int, error) {
	inner, err := memberlist.NewNetTransport(&memberlist.NetTransportConfig{BindAddrs: []string{ip}, BindPort: port, Logger: logger})
	if err != nil {
		return nil, 0, fmt.Errorf("gossip transport: %w", err)
	}
	port = inner.GetAutoBindPort()
	n.register(net.JoinHostPort(ip, fmt.Sprint(port)))
	t := &faultTransport{inner: inner, n: n, packets: make(chan *memberlist.Packet), streams: make(chan net.Conn), done: make(chan struct{})}
	go t.pumpPackets()
	go t.pumpStreams()
	return t, port, nil
}

// faultListener closes what it accepts while its node is isolated.
type faultListener struct {
	net.Listener
	n *nodeNet
}

func (l *faultListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if l.n.f.blocked(l.n.name, "") {
			c.Close()
			continue
		}
		fc := &faultConn{Conn: c, f: l.n.f, local: l.n.name}
		l.n.f.track(fc)
		return fc, nil
	}
}

// faultTransport wraps memberlist's transport: packets and streams to or
// from a cut node are dropped.
type faultTransport struct {
	inner    *memberlist.NetTransport
	n        *nodeNet
	packets  chan *memberlist.Packet
	streams  chan net.Conn
	done     chan struct{}
	shutOnce sync.Once
}

var _ memberlist.NodeAwareTransport = (*faultTransport)(nil)

func (t *faultTransport) FinalAdvertiseAddr(ip string, port int) (net.IP, int, error) {
	return t.inner.FinalAdvertiseAddr(ip, port)
}

func (t *faultTransport) WriteTo(b []byte, addr string) (time.Time, error) {
	return t.WriteToAddress(b, memberlist.Address{Addr: addr})
}

func (t *faultTransport) WriteToAddress(b []byte, a memberlist.Address) (time.Time, error) {
	if t.n.f.blocked(t.n.name, t.n.f.ownerOf(a.Addr)) {
		return time.Now(), nil // dropped on the floor
	}
	if d := t.n.f.delayOf(t.n.name); d > 0 {
		buf := append([]byte(nil), b...)
		time.AfterFunc(d, func() { _, _ = t.inner.WriteToAddress(buf, a) })
		return time.Now(), nil
	}
	return t.inner.WriteToAddress(b, a)
}

func (t *faultTransport) PacketCh() <-chan *memberlist.Packet { return t.packets }

func (t *faultTransport) pumpPackets() {
	for {
		select {
		case <-t.done:
			return
		case p := <-t.inner.PacketCh():
			if t.n.f.blocked(t.n.name, t.n.f.ownerOf(p.From.String())) {
				continue
			}
			select {
			case t.packets <- p:
			case <-t.done:
				return
			}
		}
	}
}

func (t *faultTransport) DialTimeout(addr string, timeout time.Duration) (net.Conn, error) {
	return t.DialAddressTimeout(memberlist.Address{Addr: addr}, timeout)
}

func (t *faultTransport) DialAddressTimeout(a memberlist.Address, timeout time.Duration) (net.Conn, error) {
	to := t.n.f.ownerOf(a.Addr)
	if t.n.f.blocked(t.n.name, to) {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: ErrFault}
	}
	c, err := t.inner.DialAddressTimeout(a, timeout)
	if err != nil {
		return nil, err
	}
	fc := &faultConn{Conn: c, f: t.n.f, local: t.n.name, remote: to}
	t.n.f.track(fc)
	return fc, nil
}

func (t *faultTransport) StreamCh() <-chan net.Conn { return t.streams }

func (t *faultTransport) pumpStreams() {
	for {
		select {
		case <-t.done:
			return
		case c := <-t.inner.StreamCh():
			if t.n.f.blocked(t.n.name, "") {
				c.Close()
				continue
			}
			fc := &faultConn{Conn: c, f: t.n.f, local: t.n.name}
			t.n.f.track(fc)
			select {
			case t.streams <- fc:
			case <-t.done:
				c.Close()
				return
			}
		}
	}
}

// Shutdown stops the inner transport first, while the pumps still drain
// its channels (its listener goroutines block handing over a connection
// accepted at that moment, and its Shutdown waits for them), then stops the
// pumps. memberlist keeps reading until Shutdown returns.
func (t *faultTransport) Shutdown() error {
	err := t.inner.Shutdown()
	t.shutOnce.Do(func() { close(t.done) })
	return err
}
