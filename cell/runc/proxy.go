package runc

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// proxyForwarder forwards host ports with in-process TCP proxies: one
// listener per host port on every host address, one pair of copying
// goroutines per connection. It is the fallback where nftables DNAT is not
// available (or Config.UserspaceProxy is set). Proxies live in the agent:
// they stop while it is down and Sync restarts them.
type proxyForwarder struct {
	log zerolog.Logger
	mu  sync.Mutex
	ids map[string][]*tcpProxy
}

func newProxyForwarder(log zerolog.Logger) *proxyForwarder {
	return &proxyForwarder{log: log, ids: map[string][]*tcpProxy{}}
}

// Sync implements forwarder.
func (p *proxyForwarder) Sync(all map[string]forwarding) error {
	p.mu.Lock()
	old := p.ids
	p.ids = map[string][]*tcpProxy{}
	p.mu.Unlock()
	for _, ps := range old {
		for _, x := range ps {
			x.close()
		}
	}
	var errs []error
	for _, id := range sortedKeys(all) {
		if err := p.Add(id, all[id]); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Add implements forwarder.
func (p *proxyForwarder) Add(id string, f forwarding) error {
	var started []*tcpProxy
	for _, m := range f.Ports {
		target := netip.AddrPortFrom(f.IP, m.ContainerPort).String()
		x, err := startTCPProxy(":"+strconv.Itoa(int(m.HostPort)), target, p.log)
		if err != nil {
			for _, s := range started {
				s.close()
			}
			return fmt.Errorf("proxy host port %d: %w", m.HostPort, err)
		}
		started = append(started, x)
	}
	p.mu.Lock()
	p.ids[id] = append(p.ids[id], started...)
	p.mu.Unlock()
	return nil
}

// Remove implements forwarder.
func (p *proxyForwarder) Remove(id string) error {
	p.mu.Lock()
	ps := p.ids[id]
	delete(p.ids, id)
	p.mu.Unlock()
	for _, x := range ps {
		x.close()
	}
	return nil
}

// Ports implements forwarder.
func (p *proxyForwarder) Ports(id string) ([]uint16, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var ports []uint16
	for _, x := range p.ids[id] {
		ports = append(ports, uint16(x.ln.Addr().(*net.TCPAddr).Port))
	}
	return ports, nil
}

// Close implements forwarder.
func (p *proxyForwarder) Close() error { return p.Sync(nil) }

// tcpProxy is one listening host port.
type tcpProxy struct {
	ln     net.Listener
	target string
	log    zerolog.Logger
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	wg     sync.WaitGroup
}

func startTCPProxy(addr, target string, log zerolog.Logger) (*tcpProxy, error) {
	ln, err := net.Listen("tcp4", addr)
	if err != nil {
		return nil, err
	}
	x := &tcpProxy{ln: ln, target: target, log: log, conns: map[net.Conn]struct{}{}}
	x.wg.Add(1)
	go x.serve()
	return x, nil
}

func (x *tcpProxy) serve() {
	defer x.wg.Done()
	for {
		c, err := x.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			x.log.Warn().Err(err).Msg("proxy accept")
			time.Sleep(10 * time.Millisecond) // back off on EMFILE and the like
			continue
		}
		x.wg.Add(1)
		go func() {
			defer x.wg.Done()
			x.handle(c)
		}()
	}
}

func (x *tcpProxy) handle(in net.Conn) {
	defer in.Close()
	out, err := net.DialTimeout("tcp4", x.target, 5*time.Second)
	if err != nil {
		return
	}
	defer out.Close()
	if !x.track(in, out) {
		return
	}
	defer x.untrack(in, out)
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		if tc, ok := dst.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		}
		done <- struct{}{}
	}
	go pipe(out, in)
	go pipe(in, out)
	<-done
	<-done
}

func (x *tcpProxy) track(cs ...net.Conn) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.conns == nil {
		return false
	}
	for _, c := range cs {
		x.conns[c] = struct{}{}
	}
	return true
}

func (x *tcpProxy) untrack(cs ...net.Conn) {
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, c := range cs {
		delete(x.conns, c)
	}
}

// close stops listening, cuts every connection and waits for the
// goroutines.
func (x *tcpProxy) close() {
	_ = x.ln.Close()
	x.mu.Lock()
	conns := x.conns
	x.conns = nil
	x.mu.Unlock()
	for c := range conns {
		_ = c.Close()
	}
	x.wg.Wait()
}
