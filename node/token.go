package node

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"
)

// tokenPrefix starts every join token (the k3s "K10" convention: a
// version tag followed by the CA fingerprint).
const tokenPrefix = "K10"

// tokenSep separates the CA fingerprint from the secret.
const tokenSep = "::"

// JoinToken is what a new node needs to join: the SHA-256 fingerprint of
// the cluster CA (hex), which the node checks before it sends anything,
// and the join secret.
type JoinToken struct {
	CAFingerprint string
	Secret        string
}

// String returns the token in its printed form, K10<fingerprint>::<secret>.
func (t JoinToken) String() string { return tokenPrefix + t.CAFingerprint + tokenSep + t.Secret }

// ParseToken parses a printed join token.
func ParseToken(s string) (JoinToken, error) {
	s = strings.TrimSpace(s)
	rest, ok := strings.CutPrefix(s, tokenPrefix)
	if !ok {
		return JoinToken{}, fmt.Errorf("%w: must start with %s", ErrBadToken, tokenPrefix)
	}
	fp, secret, ok := strings.Cut(rest, tokenSep)
	if !ok {
		return JoinToken{}, fmt.Errorf("%w: no %q between fingerprint and secret", ErrBadToken, tokenSep)
	}
	if b, err := hex.DecodeString(fp); err != nil || len(b) != sha256.Size {
		return JoinToken{}, fmt.Errorf("%w: the CA fingerprint is not 64 hex digits", ErrBadToken)
	}
	if len(secret) < 16 {
		return JoinToken{}, fmt.Errorf("%w: the secret is too short", ErrBadToken)
	}
	return JoinToken{CAFingerprint: strings.ToLower(fp), Secret: secret}, nil
}

// derive returns HMAC-SHA256(clusterKey, label || nonce).
func derive(clusterKey []byte, label string, nonce uint64) []byte {
	m := hmac.New(sha256.New, clusterKey)
	m.Write([]byte(label))
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], nonce)
	m.Write(b[:])
	return m.Sum(nil)
}

// joinSecret derives the join secret for nonce (replicated state) from the
// cluster key (held by members only): a snapshot or log alone does not
// reveal it, and rotating the nonce replaces it on every member at once.
func joinSecret(clusterKey []byte, nonce uint64) string {
	return hex.EncodeToString(derive(clusterKey, "diegod join secret\x00", nonce)[:16])
}

// gossipKey derives the memberlist encryption key (AES-256) from the
// cluster key. It does not change when the join secret rotates.
func gossipKey(clusterKey []byte) []byte {
	return derive(clusterKey, "diegod gossip key\x00", 0)
}

// secretEqual compares secrets in constant time.
func secretEqual(a, b string) bool { return hmac.Equal([]byte(a), []byte(b)) }
