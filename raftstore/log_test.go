package raftstore

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/rs/zerolog"
)

func TestHCLogAdapter(t *testing.T) {
	var buf bytes.Buffer
	a := newHCLogAdapter(zerolog.New(&buf), hclog.Warn)
	a.Info("Heartbeat Sent", "peer", "n2")
	a.Debug("noise")
	if buf.Len() != 0 {
		t.Fatalf("below-level lines reached zerolog: %s", buf.String())
	}
	named := a.Named("snapshot").With("node", "n1")
	named.Warn("Failed To Contact", "peer", "n2", "error", errors.New("timeout"), "dangling")
	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatalf("log line %q: %v", buf.String(), err)
	}
	want := map[string]any{"level": "warn", "message": "failed to contact", "raft_module": "snapshot",
		"node": "n1", "peer": "n2", "error": "timeout", "extra": "dangling"}
	for k, v := range want {
		if line[k] != v {
			t.Errorf("field %s: got %v, want %v", k, line[k], v)
		}
	}
	if !a.IsWarn() || a.IsInfo() || !a.IsError() {
		t.Errorf("level predicates wrong for warn")
	}
	buf.Reset()
	a.StandardLogger(nil).Print("raw line")
	if !strings.Contains(buf.String(), `"raw line"`) {
		t.Errorf("standard logger: %q", buf.String())
	}
	if _, err := parseLevel("loud"); err == nil {
		t.Error("parseLevel accepted an unknown level")
	}
}
