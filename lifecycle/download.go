package lifecycle

import (
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/diegod/diegod/model"
	"github.com/rs/zerolog"
)

// DefaultMaxDownloads is how many downloads run at once per cell (spec §6.3).
const DefaultMaxDownloads = 5

// Extractor unpacks a downloaded archive (tar, tgz or zip) at a path of the
// container's filesystem. The runtime decides where that filesystem lives.
type Extractor interface {
	// Extract unpacks the archive file at archivePath into the directory
	// to, a path as the container sees it.
	Extract(ctx context.Context, archivePath, to string) error
}

// DownloadStep fetches an archive with an HTTP GET, checks its checksum
// and unpacks it through Extractor (Diego's download action).
type DownloadStep struct {
	Action model.DownloadAction
	// Client defaults to http.DefaultClient.
	Client *http.Client
	// Extractor unpacks the archive; a nil Extractor fails the step.
	Extractor Extractor
	// Slots, when set, bounds concurrent downloads: a download holds one
	// element of the channel while it runs.
	Slots chan struct{}
	// TempDir holds the archive while it downloads; "" means os.TempDir().
	TempDir string
	Log     zerolog.Logger
}

// Run downloads and unpacks the archive.
func (d *DownloadStep) Run(ctx context.Context) error {
	if d.Extractor == nil {
		return userErrorf(ErrNoExtractor, "Failed to download %s: %v", redact(d.Action.From), ErrNoExtractor)
	}
	if d.Slots != nil {
		select {
		case d.Slots <- struct{}{}:
			defer func() { <-d.Slots }()
		case <-ctx.Done():
			return ErrCancelled
		}
	}
	path, err := d.fetch(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return ErrCancelled
		}
		return userErrorf(err, "Failed to download %s: %v", redact(d.Action.From), err)
	}
	defer os.Remove(path)
	if err := d.Extractor.Extract(ctx, path, d.Action.To); err != nil {
		if ctx.Err() != nil {
			return ErrCancelled
		}
		return userErrorf(err, "Failed to extract %s to %s: %v", redact(d.Action.From), d.Action.To, err)
	}
	d.Log.Debug().Str(fieldTo, d.Action.To).Msg("download unpacked")
	return nil
}

// fetch writes the body to a temporary file and returns its path.
func (d *DownloadStep) fetch(ctx context.Context) (string, error) {
	h, err := newHash(d.Action.ChecksumAlgorithm)
	if err != nil {
		return "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, d.Action.From, nil)
	if err != nil {
		return "", err
	}
	client := d.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("get: %w", stripURL(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("status %d", resp.StatusCode)
	}
	f, err := os.CreateTemp(d.TempDir, "diegod-download-*")
	if err != nil {
		return "", err
	}
	var w io.Writer = f
	if h != nil {
		w = io.MultiWriter(f, h)
	}
	_, err = io.Copy(w, resp.Body)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && h != nil {
		got := hex.EncodeToString(h.Sum(nil))
		if !strings.EqualFold(got, d.Action.ChecksumValue) {
			err = fmt.Errorf("%s checksum mismatch: expected %s, got %s", d.Action.ChecksumAlgorithm, d.Action.ChecksumValue, got)
		}
	}
	if err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}

func newHash(algorithm string) (hash.Hash, error) {
	switch algorithm {
	case "":
		return nil, nil
	case "md5":
		return md5.New(), nil
	case "sha1":
		return sha1.New(), nil
	case "sha256":
		return sha256.New(), nil
	}
	return nil, fmt.Errorf("unknown checksum algorithm %q", algorithm)
}

// redact removes credentials from a URL before it goes into a message.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	u.User = nil
	return u.String()
}

// stripURL returns the cause of a *url.Error, whose text repeats the URL.
func stripURL(err error) error {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err
	}
	return err
}
