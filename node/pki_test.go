package node

import (
	"crypto/x509"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestPKIIssueAndReload(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	p, err := newPKI("node-a", []net.IP{net.ParseIP("10.0.0.1")}, now)
	if err != nil {
		t.Fatal(err)
	}
	leaf := p.nodeCert.Leaf
	if leaf.Subject.CommonName != "node-a" || !leaf.IPAddresses[0].Equal(net.ParseIP("10.0.0.1")) {
		t.Errorf("node cert: CN %q, IPs %v", leaf.Subject.CommonName, leaf.IPAddresses)
	}
	for _, name := range []string{"node-a", ClusterServerName} {
		if err := leaf.VerifyHostname(name); err != nil {
			t.Errorf("node cert does not name %s: %v", name, err)
		}
	}
	if err := p.save(dir); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{caCertFile, caKeyFile, nodeCertFile, nodeKeyFile, clusterKeyFile} {
		st, err := os.Stat(filepath.Join(dir, tlsDir, f))
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, err %v; want 0600", f, st.Mode().Perm(), err)
		}
	}
	q, err := loadPKI(dir)
	if err != nil {
		t.Fatal(err)
	}
	if q.Fingerprint() != p.Fingerprint() || string(q.clusterKey) != string(p.clusterKey) {
		t.Error("reloaded PKI differs")
	}
	if _, err := loadPKI(t.TempDir()); !errors.Is(err, ErrNoPKI) {
		t.Errorf("empty dir: got %v, want ErrNoPKI", err)
	}

	// A joiner's CSR is signed for its own name only.
	keyPEM, csrPEM, err := newCSR("node-b", []net.IP{net.ParseIP("10.0.0.2")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.signCSR("node-c", csrPEM, now); err == nil || !strings.Contains(err.Error(), "common name") {
		t.Errorf("CSR for another name: got %v, want a common name error", err)
	}
	certPEM, err := p.signCSR("node-b", csrPEM, now)
	if err != nil {
		t.Fatal(err)
	}
	joiner := &pki{caCertPEM: p.caCertPEM}
	if err := joiner.parseCA(); err != nil {
		t.Fatal(err)
	}
	if err := joiner.setNode(certPEM, keyPEM); err != nil {
		t.Fatalf("joiner certificate: %v", err)
	}
	if _, err := joiner.nodeCert.Leaf.Verify(x509.VerifyOptions{Roots: p.pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("joiner certificate is not a client certificate of the CA: %v", err)
	}
	// A certificate of another CA is refused.
	other, err := newPKI("node-x", nil, now)
	if err != nil {
		t.Fatal(err)
	}
	if err := joiner.setNode(other.nodeCertPM, other.nodeKeyPEM); err == nil {
		t.Error("a certificate of another CA was accepted")
	}
}

func TestTokens(t *testing.T) {
	fp := strings.Repeat("0a", 32)
	tok := JoinToken{CAFingerprint: fp, Secret: "0123456789abcdef0123"}
	got, err := ParseToken(" " + tok.String() + "\n")
	if err != nil || got != tok {
		t.Fatalf("round trip: got %+v, %v", got, err)
	}
	for _, bad := range []string{"", "K10" + fp, "X10" + fp + "::0123456789abcdef", "K10abc::0123456789abcdef", "K10" + fp + "::short"} {
		if _, err := ParseToken(bad); !errors.Is(err, ErrBadToken) {
			t.Errorf("ParseToken(%q): got %v, want ErrBadToken", bad, err)
		}
	}
	key := []byte(strings.Repeat("k", clusterKeySize))
	if joinSecret(key, 0) == joinSecret(key, 1) {
		t.Error("rotating the nonce does not change the secret")
	}
	if s := joinSecret(key, 7); s != joinSecret(append([]byte(nil), key...), 7) || len(s) != 32 {
		t.Error("join secret is not a stable 32-hex-digit value")
	}
	if string(gossipKey(key)) == string(gossipKey([]byte(strings.Repeat("j", clusterKeySize)))) || len(gossipKey(key)) != 32 {
		t.Error("gossip key: want 32 bytes that depend on the cluster key")
	}
}
