package node

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/hashicorp/raft"
)

// tlsHandshakeTimeout bounds a node-to-node TLS handshake.
const tlsHandshakeTimeout = 10 * time.Second

// serverTLS is the TLS config of a listener that requires a client
// certificate of the cluster CA (the Raft transport).
func (p *pki) serverTLS() *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{p.nodeCert},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    p.pool,
	}
}

// apiTLS is the TLS config of the API: clients may present a cluster
// certificate (nodes calling internal endpoints, which require one); the
// CLI authenticates with the operator token instead.
func (p *pki) apiTLS() *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{p.nodeCert},
		ClientAuth:   tls.VerifyClientCertIfGiven,
		ClientCAs:    p.pool,
		// HTTP/2 lets forwarded writes from a node share one connection.
		NextProtos: []string{"h2", "http/1.1"},
	}
}

// clientTLS is the TLS config of node-to-node connections: the peer must
// present a certificate of the cluster CA naming ClusterServerName, and
// this node presents its own.
func (p *pki) clientTLS() *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{p.nodeCert},
		RootCAs:      p.pool,
		ServerName:   ClusterServerName,
	}
}

// internalClient is the HTTP client a node uses to call other nodes' APIs
// (forwarded writes, consistent reads, snapshots) with mutual TLS over the
// node's Network.
func (p *pki) internalClient(nw Network) *http.Client {
	tr := &http.Transport{
		DialContext:         func(ctx context.Context, _, addr string) (net.Conn, error) { return nw.DialContext(ctx, addr) },
		TLSClientConfig:     p.clientTLS(),
		TLSHandshakeTimeout: tlsHandshakeTimeout,
		MaxIdleConnsPerHost: 16,
		IdleConnTimeout:     90 * time.Second,
		ForceAttemptHTTP2:   true,
	}
	return &http.Client{Transport: tr}
}

// hasClusterCert reports whether a request came over TLS with a client
// certificate that chains to the cluster CA.
func hasClusterCert(r *http.Request) bool {
	return r.TLS != nil && len(r.TLS.VerifiedChains) > 0
}

// tlsStreamLayer is raft's StreamLayer over mutual TLS: Raft accepts only
// nodes with a cluster certificate, and dials only nodes that have one.
type tlsStreamLayer struct {
	raw    net.Listener
	adv    net.Addr // advertised address (nil: the listener's)
	ln     net.Listener
	nw     Network
	client *tls.Config
}

var _ raft.StreamLayer = (*tlsStreamLayer)(nil)

func newTLSStreamLayer(raw net.Listener, p *pki, nw Network) *tlsStreamLayer {
	return &tlsStreamLayer{raw: raw, ln: tls.NewListener(raw, p.serverTLS()), nw: nw, client: p.clientTLS()}
}

// Accept implements net.Listener. The handshake happens on the first read
// (raft's connection handler), so a bad client fails there.
func (s *tlsStreamLayer) Accept() (net.Conn, error) { return s.ln.Accept() }

// Close implements net.Listener.
func (s *tlsStreamLayer) Close() error { return s.ln.Close() }

// Addr implements net.Listener: the advertised Raft address.
func (s *tlsStreamLayer) Addr() net.Addr {
	if s.adv != nil {
		return s.adv
	}
	return s.raw.Addr()
}

// Dial implements raft.StreamLayer.
func (s *tlsStreamLayer) Dial(address raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	raw, err := s.nw.DialContext(ctx, string(address))
	if err != nil {
		return nil, err
	}
	c := tls.Client(raw, s.client)
	if err := c.HandshakeContext(ctx); err != nil {
		raw.Close()
		return nil, fmt.Errorf("raft tls handshake with %s: %w", address, err)
	}
	return c, nil
}

// isDialError reports whether err means no connection was made (so a
// request was certainly not delivered).
func isDialError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}
