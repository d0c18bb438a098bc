package node

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// Files of the cluster PKI under <data-dir>/tls, all mode 0600.
const (
	tlsDir         = "tls"
	caCertFile     = "ca.crt"
	caKeyFile      = "ca.key"
	nodeCertFile   = "node.crt"
	nodeKeyFile    = "node.key"
	clusterKeyFile = "cluster.key"
)

// ClusterServerName is a DNS name in every node certificate. Node-to-node
// TLS and the CLI verify it (instead of the dialled host), so a node is
// reachable under any address while only certificates of the cluster CA
// are accepted.
const ClusterServerName = "diegod.cluster"

// Certificate lifetimes. There is no automatic renewal yet; the long node
// lifetime keeps a homelab cluster from failing on an expired certificate.
const (
	caLifetime   = 20 * 365 * 24 * time.Hour
	nodeLifetime = 10 * 365 * 24 * time.Hour
	clockSkew    = time.Hour // NotBefore is backdated by this much
)

// clusterKeySize is the size of the cluster key (gossip encryption and join
// secret derivation).
const clusterKeySize = 32

// pki is a node's share of the cluster PKI: the CA (with its key, so any
// member can admit new nodes), the node's own certificate and the cluster
// key.
type pki struct {
	caCert     *x509.Certificate
	caCertPEM  []byte
	caKeyPEM   []byte
	caKey      *ecdsa.PrivateKey
	nodeCert   tls.Certificate
	nodeCertPM []byte
	nodeKeyPEM []byte
	clusterKey []byte
	pool       *x509.CertPool
}

// caFingerprint is the hex SHA-256 of the CA certificate's DER bytes, the
// value a join token pins.
func caFingerprint(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.Raw)
	return hex.EncodeToString(sum[:])
}

// Fingerprint returns the CA fingerprint.
func (p *pki) Fingerprint() string { return caFingerprint(p.caCert) }

func newKey() (*ecdsa.PrivateKey, error) { return ecdsa.GenerateKey(elliptic.P256(), rand.Reader) }

func serial() (*big.Int, error) {
	return rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
}

func encodeKey(k *ecdsa.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), nil
}

func decodeKey(data []byte) (*ecdsa.PrivateKey, error) {
	b, _ := pem.Decode(data)
	if b == nil {
		return nil, errors.New("no PEM block")
	}
	return x509.ParseECPrivateKey(b.Bytes)
}

func decodeCert(data []byte) (*x509.Certificate, error) {
	b, _ := pem.Decode(data)
	if b == nil || b.Type != "CERTIFICATE" {
		return nil, errors.New("no PEM certificate")
	}
	return x509.ParseCertificate(b.Bytes)
}

// newPKI creates a cluster: a CA, the cluster key and this node's
// certificate.
func newPKI(nodeName string, ips []net.IP, now time.Time) (*pki, error) {
	caKey, err := newKey()
	if err != nil {
		return nil, err
	}
	sn, err := serial()
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          sn,
		Subject:               pkix.Name{CommonName: "diegod cluster CA", Organization: []string{"diegod"}},
		NotBefore:             now.Add(-clockSkew),
		NotAfter:              now.Add(caLifetime),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("create ca: %w", err)
	}
	caKeyPEM, err := encodeKey(caKey)
	if err != nil {
		return nil, err
	}
	clusterKey := make([]byte, clusterKeySize)
	if _, err := rand.Read(clusterKey); err != nil {
		return nil, err
	}
	p := &pki{caCertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), caKeyPEM: caKeyPEM, clusterKey: clusterKey}
	if err := p.parseCA(); err != nil {
		return nil, err
	}
	nodeKey, err := newKey()
	if err != nil {
		return nil, err
	}
	certPEM, err := p.issue(nodeName, ips, &nodeKey.PublicKey, now)
	if err != nil {
		return nil, err
	}
	keyPEM, err := encodeKey(nodeKey)
	if err != nil {
		return nil, err
	}
	if err := p.setNode(certPEM, keyPEM); err != nil {
		return nil, err
	}
	return p, nil
}

// parseCA fills caCert, caKey (if caKeyPEM is set) and pool.
func (p *pki) parseCA() error {
	cert, err := decodeCert(p.caCertPEM)
	if err != nil {
		return fmt.Errorf("ca certificate: %w", err)
	}
	if !cert.IsCA {
		return errors.New("ca certificate: not a CA")
	}
	p.caCert = cert
	p.pool = x509.NewCertPool()
	p.pool.AddCert(cert)
	if len(p.caKeyPEM) > 0 {
		if p.caKey, err = decodeKey(p.caKeyPEM); err != nil {
			return fmt.Errorf("ca key: %w", err)
		}
	}
	return nil
}

func (p *pki) setNode(certPEM, keyPEM []byte) error {
	c, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return fmt.Errorf("node certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(c.Certificate[0])
	if err != nil {
		return fmt.Errorf("node certificate: %w", err)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: p.pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		return fmt.Errorf("node certificate: not issued by the cluster CA: %w", err)
	}
	c.Leaf = leaf
	p.nodeCert, p.nodeCertPM, p.nodeKeyPEM = c, certPEM, keyPEM
	return nil
}

// issue signs a node certificate for pub: CN and a DNS name are the node
// name, plus ClusterServerName and the given IPs; usable as both TLS server
// and client.
func (p *pki) issue(name string, ips []net.IP, pub *ecdsa.PublicKey, now time.Time) ([]byte, error) {
	if p.caKey == nil {
		return nil, errors.New("issue certificate: this node has no CA key")
	}
	sn, err := serial()
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: sn,
		Subject:      pkix.Name{CommonName: name, Organization: []string{"diegod"}},
		NotBefore:    now.Add(-clockSkew),
		NotAfter:     now.Add(nodeLifetime),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		DNSNames:     []string{name, ClusterServerName, "localhost"},
		IPAddresses:  ips,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.caCert, pub, p.caKey)
	if err != nil {
		return nil, fmt.Errorf("issue certificate for %s: %w", name, err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), nil
}

// newCSR returns a fresh key and a certificate request for name.
func newCSR(name string, ips []net.IP) (keyPEM, csrPEM []byte, err error) {
	key, err := newKey()
	if err != nil {
		return nil, nil, err
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: name}, IPAddresses: ips,
	}, key)
	if err != nil {
		return nil, nil, err
	}
	if keyPEM, err = encodeKey(key); err != nil {
		return nil, nil, err
	}
	return keyPEM, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}), nil
}

// signCSR checks a certificate request of node name and issues its
// certificate.
func (p *pki) signCSR(name string, csrPEM []byte, now time.Time) ([]byte, error) {
	b, _ := pem.Decode(csrPEM)
	if b == nil || b.Type != "CERTIFICATE REQUEST" {
		return nil, errors.New("csr: no PEM certificate request")
	}
	csr, err := x509.ParseCertificateRequest(b.Bytes)
	if err != nil {
		return nil, fmt.Errorf("csr: %w", err)
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, fmt.Errorf("csr: %w", err)
	}
	if csr.Subject.CommonName != name {
		return nil, fmt.Errorf("csr: common name %q is not the node name %q", csr.Subject.CommonName, name)
	}
	pub, ok := csr.PublicKey.(*ecdsa.PublicKey)
	if !ok {
		return nil, errors.New("csr: key is not ECDSA")
	}
	return p.issue(name, csr.IPAddresses, pub, now)
}

// certIPs returns the IP SANs of a node bound to bind: the bind address,
// and for a wildcard bind every address of the machine's interfaces.
func certIPs(bind string) []net.IP {
	ip := net.ParseIP(bind)
	if ip == nil {
		return nil
	}
	if !ip.IsUnspecified() {
		return []net.IP{ip}
	}
	out := []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() {
				out = append(out, n.IP)
			}
		}
	}
	return out
}

// save writes the PKI files under dir/tls (0600 files, 0700 dir).
func (p *pki) save(dataDir string) error {
	dir := filepath.Join(dataDir, tlsDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	files := map[string][]byte{caCertFile: p.caCertPEM, nodeCertFile: p.nodeCertPM,
		nodeKeyFile: p.nodeKeyPEM, clusterKeyFile: []byte(hex.EncodeToString(p.clusterKey))}
	if len(p.caKeyPEM) > 0 {
		files[caKeyFile] = p.caKeyPEM
	}
	for name, data := range files {
		if err := writeFileAtomic(filepath.Join(dir, name), data); err != nil {
			return fmt.Errorf("write %s: %w", name, err)
		}
	}
	return nil
}

// loadPKI reads the PKI of a data dir; it returns ErrNoPKI when there is
// none.
func loadPKI(dataDir string) (*pki, error) {
	dir := filepath.Join(dataDir, tlsDir)
	read := func(name string, optional bool) ([]byte, error) {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if optional && errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return data, err
	}
	caPEM, err := read(caCertFile, false)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNoPKI
	}
	if err != nil {
		return nil, err
	}
	p := &pki{caCertPEM: caPEM}
	if p.caKeyPEM, err = read(caKeyFile, true); err != nil {
		return nil, err
	}
	if err := p.parseCA(); err != nil {
		return nil, err
	}
	certPEM, err := read(nodeCertFile, false)
	if err != nil {
		return nil, err
	}
	keyPEM, err := read(nodeKeyFile, false)
	if err != nil {
		return nil, err
	}
	if err := p.setNode(certPEM, keyPEM); err != nil {
		return nil, err
	}
	ck, err := read(clusterKeyFile, false)
	if err != nil {
		return nil, err
	}
	if p.clusterKey, err = hex.DecodeString(string(ck)); err != nil || len(p.clusterKey) != clusterKeySize {
		return nil, fmt.Errorf("%s: not a %d-byte hex key", clusterKeyFile, clusterKeySize)
	}
	return p, nil
}

// writeFileAtomic writes data to path (0600) through a temporary file.
func writeFileAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
