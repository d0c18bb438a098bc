package node

import (
	"context"
	"fmt"
	"log"
	"net"

	"github.com/hashicorp/memberlist"
)

// Network carries every node-to-node connection of a node: the Raft
// transport and API listeners, outgoing Raft, join and forwarded API
// connections, and gossip. TLS is layered on top, so an implementation sees
// only bytes. The real network is used when Config.Network is nil;
// nodetest.FaultNet implements it to partition, cut or slow a node.
type Network interface {
	// Listen opens a TCP listener on addr ("ip:port", port 0 = any).
	Listen(addr string) (net.Listener, error)
	// DialContext opens a TCP connection to addr.
	DialContext(ctx context.Context, addr string) (net.Conn, error)
	// GossipTransport opens memberlist's TCP and UDP listeners on ip:port
	// (port 0 = any) and returns the transport and the bound port.
	GossipTransport(ip string, port int, logger *log.Logger) (memberlist.NodeAwareTransport, int, error)
}

// realNetwork is the operating system's network.
type realNetwork struct{}

var _ Network = realNetwork{}

func (realNetwork) Listen(addr string) (net.Listener, error) { return net.Listen("tcp", addr) }

func (realNetwork) DialContext(ctx context.Context, addr string) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, "tcp", addr)
}

func (realNetwork) GossipTransport(ip string, port int, logger *log.Logger) (memberlist.NodeAwareTransport, int, error) {
	t, err := memberlist.NewNetTransport(&memberlist.NetTransportConfig{BindAddrs: []string{ip}, BindPort: port, Logger: logger})
	if err != nil {
		return nil, 0, fmt.Errorf("gossip transport on %s:%d: %w", ip, port, err)
	}
	return t, t.GetAutoBindPort(), nil
}
