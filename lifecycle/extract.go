package lifecycle

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// DirExtractor unpacks archives under Root, the host directory that holds
// the container's filesystem: an archive for "/app" goes to Root/app.
// Entries that would land outside the target directory are refused.
type DirExtractor struct {
	Root string
}

var _ Extractor = (*DirExtractor)(nil)

// errUnsafePath is returned for an archive entry that escapes the target.
var errUnsafePath = errors.New("archive entry escapes the target directory")

// Extract detects the archive format (gzip, zip or plain tar) and unpacks it.
func (x *DirExtractor) Extract(ctx context.Context, archivePath, to string) error {
	dest := filepath.Join(x.Root, filepath.Clean("/"+to))
	if err := os.MkdirAll(dest, 0o755); err != nil {
		return err
	}
	f, err := os.Open(archivePath)
	if err != nil {
		return err
	}
	defer f.Close()
	br := bufio.NewReader(f)
	magic, _ := br.Peek(4)
	switch {
	case bytes.HasPrefix(magic, []byte{0x1f, 0x8b}):
		gz, err := gzip.NewReader(br)
		if err != nil {
			return err
		}
		defer gz.Close()
		return untar(ctx, gz, dest)
	case bytes.Equal(magic, []byte("PK\x03\x04")):
		return unzip(ctx, archivePath, dest)
	}
	return untar(ctx, br, dest)
}

// safeJoin joins name under dest and refuses paths that leave it, also
// through a symlink already on disk.
func safeJoin(dest, name string) (string, error) {
	if rel := strings.TrimLeft(name, "/"); rel != "" && rel != "." && rel != "./" && !filepath.IsLocal(rel) {
		return "", fmt.Errorf("%s: %w", name, errUnsafePath)
	}
	target := filepath.Join(dest, filepath.Clean("/"+name))
	if target != dest && !strings.HasPrefix(target, dest+string(filepath.Separator)) {
		return "", fmt.Errorf("%s: %w", name, errUnsafePath)
	}
	parent, err := filepath.EvalSymlinks(filepath.Dir(target))
	if err == nil {
		root, rerr := filepath.EvalSymlinks(dest)
		if rerr == nil && parent != root && !strings.HasPrefix(parent, root+string(filepath.Separator)) {
			return "", fmt.Errorf("%s: %w", name, errUnsafePath)
		}
	}
	return target, nil
}

func untar(ctx context.Context, r io.Reader, dest string) error {
	tr := tar.NewReader(r)
	for {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read tar: %w", err)
		}
		target, err := safeJoin(dest, h.Name)
		if err != nil {
			return err
		}
		mode := fs.FileMode(h.Mode).Perm()
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, mode|0o700); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := writeFile(target, tr, mode); err != nil {
				return err
			}
		case tar.TypeSymlink:
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return err
			}
			_ = os.Remove(target)
			if err := os.Symlink(h.Linkname, target); err != nil {
				return err
			}
		case tar.TypeLink:
			src, err := safeJoin(dest, h.Linkname)
			if err != nil {
				return err
			}
			_ = os.Remove(target)
			if err := os.Link(src, target); err != nil {
				return err
			}
		default:
			// Devices, fifos and the like have no place in an app archive.
		}
	}
}

func unzip(ctx context.Context, archivePath, dest string) error {
	zr, err := zip.OpenReader(archivePath)
	if err != nil {
		return fmt.Errorf("read zip: %w", err)
	}
	defer zr.Close()
	for _, f := range zr.File {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		target, err := safeJoin(dest, f.Name)
		if err != nil {
			return err
		}
		mode := f.Mode()
		switch {
		case mode.IsDir():
			if err := os.MkdirAll(target, mode.Perm()|0o700); err != nil {
				return err
			}
		case mode&fs.ModeSymlink != 0:
			rc, err := f.Open()
			if err != nil {
				return err
			}
			link, err := io.ReadAll(io.LimitReader(rc, 4096))
			rc.Close()
			if err != nil {
				return err
			}
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return err
			}
			_ = os.Remove(target)
			if err := os.Symlink(string(link), target); err != nil {
				return err
			}
		case mode.IsRegular():
			rc, err := f.Open()
			if err != nil {
				return err
			}
			err = writeFile(target, rc, mode.Perm())
			rc.Close()
			if err != nil {
				return err
			}
		}
	}
	return nil
}

func writeFile(target string, r io.Reader, mode fs.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return err
	}
	_ = os.Remove(target)
	f, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode|0o200)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
