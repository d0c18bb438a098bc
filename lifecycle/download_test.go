package lifecycle_test

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/diegod/diegod/lifecycle"
	"github.com/diegod/diegod/model"
)

func makeTgz(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for name, body := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(body))
	}
	tw.Close()
	gz.Close()
	return buf.Bytes()
}

func makeZip(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, body := range files {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(body))
	}
	zw.Close()
	return buf.Bytes()
}

func serve(t *testing.T, body []byte) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/missing" {
			http.NotFound(w, r)
			return
		}
		w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestDownloadStep(t *testing.T) {
	files := map[string]string{"app/run.sh": "#!/bin/sh\necho hi\n", "README": "hello"}
	tgz := makeTgz(t, files)
	sum := sha256.Sum256(tgz)
	tests := []struct {
		name       string
		archive    []byte
		path       string
		algo, sum  string
		wantReason string
	}{
		{"tgz", tgz, "/droplet.tgz", "", "", ""},
		{"zip", makeZip(t, files), "/droplet.zip", "", "", ""},
		{"sha256 ok", tgz, "/droplet.tgz", "sha256", hex.EncodeToString(sum[:]), ""},
		{"sha256 mismatch", tgz, "/droplet.tgz", "sha256", strings.Repeat("0", 64), "checksum mismatch"},
		{"404", tgz, "/missing", "", "", "status 404"},
		{"traversal", makeTgz(t, map[string]string{"../evil": "x"}), "/evil.tgz", "", "", "escapes the target directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			step := &lifecycle.DownloadStep{
				Action:    model.DownloadAction{From: serve(t, tt.archive) + tt.path, To: "/home/vcap", ChecksumAlgorithm: tt.algo, ChecksumValue: tt.sum},
				Extractor: &lifecycle.DirExtractor{Root: filepath.Join(root, "rootfs")},
				TempDir:   t.TempDir(),
			}
			err := step.Run(context.Background())
			if tt.wantReason != "" {
				if got := lifecycle.Reason(err); !strings.Contains(got, tt.wantReason) {
					t.Fatalf("reason: got %q, want it to contain %q", got, tt.wantReason)
				}
				if _, serr := os.Stat(filepath.Join(root, "evil")); serr == nil {
					t.Fatal("traversal wrote outside the target")
				}
				return
			}
			if err != nil {
				t.Fatalf("run: %v", err)
			}
			for name, body := range files {
				got, err := os.ReadFile(filepath.Join(root, "rootfs", "home/vcap", name))
				if err != nil || string(got) != body {
					t.Fatalf("%s: got %q (%v), want %q", name, got, err, body)
				}
			}
		})
	}
}

func TestDownloadStepWithoutExtractor(t *testing.T) {
	step := &lifecycle.DownloadStep{Action: model.DownloadAction{From: "http://127.0.0.1:1/x", To: "/x"}}
	if got := lifecycle.Reason(step.Run(context.Background())); !strings.Contains(got, "no extractor") {
		t.Fatalf("reason: got %q", got)
	}
}
