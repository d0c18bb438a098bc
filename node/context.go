package node

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// ContextFile is the name of the file every agent writes into its data dir
// (and the user's ~/.diegod) so the CLI finds the local node.
const ContextFile = "context.json"

// tokenFile holds the operator token inside the data dir.
const tokenFile = "operator-token"

// CLIContext tells the CLI how to reach a node.
type CLIContext struct {
	// APIAddr is the API's URL ("http://127.0.0.1:8889").
	APIAddr string `json:"api_addr"`
	// CACert is the cluster CA in PEM, empty when the API is plain HTTP.
	CACert string `json:"ca_cert,omitempty"`
	// Token is the operator token.
	Token string `json:"token"`
	// Node is the node's name.
	Node string `json:"node"`
}

// WriteContext writes c to dir/context.json with mode 0600.
func WriteContext(dir string, c CLIContext) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	data, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, ContextFile+".tmp")
	if err := os.WriteFile(tmp, append(data, '\n'), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, ContextFile))
}

// ReadContext reads dir/context.json.
func ReadContext(dir string) (CLIContext, error) {
	var c CLIContext
	data, err := os.ReadFile(filepath.Join(dir, ContextFile))
	if err != nil {
		return c, err
	}
	if err := json.Unmarshal(data, &c); err != nil {
		return c, fmt.Errorf("%s: %w", filepath.Join(dir, ContextFile), err)
	}
	return c, nil
}

// operatorToken returns the data dir's operator token, creating it (0600)
// on first start.
func operatorToken(dataDir string) (string, error) {
	path := filepath.Join(dataDir, tokenFile)
	data, err := os.ReadFile(path)
	if err == nil && len(data) > 0 {
		return string(data), nil
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	tok := "dgo_" + hex.EncodeToString(b)
	if err := os.WriteFile(path, []byte(tok), 0o600); err != nil {
		return "", err
	}
	return tok, nil
}
