package node

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/rs/zerolog"

	"github.com/diegod/diegod/model"
)

// Join protocol limits.
const (
	maxCABytes       = 64 << 10
	maxJoinBody      = 64 << 10
	joinRetryDelay   = 500 * time.Millisecond
	joinRequestLimit = 10 * time.Second
)

// joinRequest is POST /v1/join: the new node's name, its certificate
// request and the join secret.
type joinRequest struct {
	NodeName string `json:"node_name"`
	CSR      string `json:"csr"`
	Secret   string `json:"secret"`
}

// joinResponse is what an admitted node receives: its certificate, the CA
// (with its key, so every member can admit nodes), the cluster key
// (gossip encryption, join secret derivation), the operator token and the
// members to gossip with.
type joinResponse struct {
	Cert          string          `json:"cert"`
	CACert        string          `json:"ca_cert"`
	CAKey         string          `json:"ca_key"`
	ClusterKey    string          `json:"cluster_key"`
	OperatorToken string          `json:"operator_token"`
	Peers         map[string]peer `json:"peers"`
}

// joined is the result of a successful join.
type joined struct {
	pki           *pki
	operatorToken string
	peers         map[string]peer
}

// joinCluster runs the joining side of the handshake against addr (a
// member's API): it fetches the CA without verification, checks its
// SHA-256 against the token BEFORE anything secret is sent, then sends the
// secret and a certificate request over TLS verified with that CA. It
// retries connection failures until ctx ends; a CA mismatch or a refusal
// is final.
func joinCluster(ctx context.Context, nw Network, addr string, tok JoinToken, name string, ips []net.IP, log zerolog.Logger) (*joined, error) {
	for {
		j, err := joinOnce(ctx, nw, addr, tok, name, ips)
		if err == nil || errors.Is(err, ErrCAMismatch) || errors.Is(err, ErrJoinRefused) {
			return j, err
		}
		log.Warn().Err(err).Str(logKeyJoin, addr).Msg("join attempt failed, retrying")
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("join %s: %w (last error: %v)", addr, ctx.Err(), err)
		case <-time.After(joinRetryDelay):
		}
	}
}

func joinOnce(ctx context.Context, nw Network, addr string, tok JoinToken, name string, ips []net.IP) (*joined, error) {
	ctx, cancel := context.WithTimeout(ctx, joinRequestLimit)
	defer cancel()
	dial := func(ctx context.Context, _, a string) (net.Conn, error) { return nw.DialContext(ctx, a) }

	// 1. The CA, unverified: only its fingerprint matters.
	insecure := &http.Client{Transport: &http.Transport{DialContext: dial,
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}}} //nolint:gosec // checked against the pinned fingerprint below
	defer insecure.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+addr+"/v1/join/ca", nil)
	if err != nil {
		return nil, err
	}
	resp, err := insecure.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch cluster CA from %s: %w", addr, err)
	}
	caPEM, err := io.ReadAll(io.LimitReader(resp.Body, maxCABytes))
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch cluster CA from %s: %s %v", addr, resp.Status, err)
	}
	ca, err := decodeCert(caPEM)
	if err != nil {
		return nil, fmt.Errorf("%w: %s served no CA certificate: %v", ErrCAMismatch, addr, err)
	}
	if got := caFingerprint(ca); got != tok.CAFingerprint {
		return nil, fmt.Errorf("%w: %s presents CA %s…, the token pins %s…", ErrCAMismatch, addr, got[:16], tok.CAFingerprint[:16])
	}

	// 2. The secret and a CSR, over TLS verified with the pinned CA.
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	verified := &http.Client{Transport: &http.Transport{DialContext: dial,
		TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: ClusterServerName, MinVersion: tls.VersionTLS12}}}
	defer verified.CloseIdleConnections()
	keyPEM, csrPEM, err := newCSR(name, ips)
	if err != nil {
		return nil, err
	}
	body, _ := json.Marshal(joinRequest{NodeName: name, CSR: string(csrPEM), Secret: tok.Secret})
	req, err = http.NewRequestWithContext(ctx, http.MethodPost, "https://"+addr+"/v1/join", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err = verified.Do(req)
	if err != nil {
		return nil, fmt.Errorf("join %s: %w", addr, err)
	}
	defer resp.Body.Close()
	var jr joinResponse
	if err := decodeResponse(resp, &jr); err != nil {
		if c := model.CodeOf(err); c == model.CodeUnauthorized || c == model.CodeResourceExists || c == model.CodeInvalidRequest {
			return nil, fmt.Errorf("%w by %s: %v", ErrJoinRefused, addr, err)
		}
		return nil, fmt.Errorf("join %s: %w", addr, err)
	}

	p := &pki{caCertPEM: []byte(jr.CACert), caKeyPEM: []byte(jr.CAKey)}
	if err := p.parseCA(); err != nil {
		return nil, err
	}
	if caFingerprint(p.caCert) != tok.CAFingerprint {
		return nil, fmt.Errorf("%w: the join answer carries another CA", ErrCAMismatch)
	}
	if err := p.setNode([]byte(jr.Cert), keyPEM); err != nil {
		return nil, err
	}
	if p.clusterKey, err = hex.DecodeString(jr.ClusterKey); err != nil || len(p.clusterKey) != clusterKeySize {
		return nil, errors.New("join answer: bad cluster key")
	}
	return &joined{pki: p, operatorToken: jr.OperatorToken, peers: jr.Peers}, nil
}

// handleJoinCA serves the cluster CA certificate (public).
func (n *Node) handleJoinCA(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/x-pem-file")
	_, _ = w.Write(n.pki.caCertPEM)
}

// handleJoin admits a node: it checks the join secret, signs the node's
// certificate request and hands over the cluster material. The leader adds
// the node to Raft once it shows up alive in gossip.
func (n *Node) handleJoin(w http.ResponseWriter, r *http.Request) {
	if r.TLS == nil {
		writeError(w, model.Errorf(model.CodeInvalidRequest, "join: this node serves plain HTTP (--dev) and cannot be joined"))
		return
	}
	var req joinRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxJoinBody)).Decode(&req); err != nil {
		writeError(w, model.Errorf(model.CodeInvalidRequest, "join: %v", err))
		return
	}
	want := joinSecret(n.pki.clusterKey, n.store.View().JoinNonce())
	if !secretEqual(req.Secret, want) {
		n.log.Warn().Str(logKeyMember, req.NodeName).Str(logKeyAddress, r.RemoteAddr).Msg("join refused: wrong secret")
		writeError(w, model.Errorf(model.CodeUnauthorized, "join: wrong join secret (see `diegod token`)"))
		return
	}
	if !model.ValidGUID(req.NodeName) {
		writeError(w, model.Errorf(model.CodeInvalidRequest, "join: node name %q must match ^[a-zA-Z0-9_-]+$", req.NodeName))
		return
	}
	if m, ok := n.gossip.Member(req.NodeName); req.NodeName == n.cfg.NodeName || (ok && m.State == gossipAlive) {
		writeError(w, model.Errorf(model.CodeResourceExists, "join: a live member is already named %s", req.NodeName))
		return
	}
	cert, err := n.pki.signCSR(req.NodeName, []byte(req.CSR), time.Now())
	if err != nil {
		writeError(w, model.Errorf(model.CodeInvalidRequest, "join: %v", err))
		return
	}
	peers := n.book.all()
	peers[n.cfg.NodeName] = n.selfPeer()
	n.log.Info().Str(logKeyMember, req.NodeName).Str(logKeyAddress, r.RemoteAddr).Msg("node admitted")
	writeJSON(w, http.StatusOK, joinResponse{
		Cert: string(cert), CACert: string(n.pki.caCertPEM), CAKey: string(n.pki.caKeyPEM),
		ClusterKey: hex.EncodeToString(n.pki.clusterKey), OperatorToken: n.token, Peers: peers,
	})
}
