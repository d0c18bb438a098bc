package cell

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
)

// catPath is the program the cell runs in a container to read a file when
// the runtime has neither ResultReader nor FileSystem.
const catPath = "/bin/cat"

// readContainerFile reads path (absolute, in the container) from container
// id, failing with ErrFileTooLarge past max bytes: through the runtime's
// ResultReader, else its FileSystem (the root cannot be escaped through
// symlinks), else by running cat in the container as user.
func (c *Cell) readContainerFile(ctx context.Context, id, path string, max int, user string) ([]byte, error) {
	if rr, ok := c.rt.(ResultReader); ok {
		return rr.ReadFile(ctx, id, path, max)
	}
	if fs, ok := c.rt.(FileSystem); ok {
		root, err := fs.ContainerRoot(ctx, id)
		if err != nil {
			return nil, err
		}
		return readInRoot(root, path, max)
	}
	return c.catFile(ctx, id, path, max, user)
}

// readInRoot reads path below root, at most max bytes.
func readInRoot(root, path string, max int) ([]byte, error) {
	f, err := os.OpenInRoot(root, strings.TrimPrefix(path, "/"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readLimited(f, max)
}

// readLimited reads r to its end, failing with ErrFileTooLarge past max
// bytes.
func readLimited(r io.Reader, max int) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, int64(max)+1))
	if err != nil {
		return nil, err
	}
	if len(data) > max {
		return nil, fmt.Errorf("more than %d bytes: %w", max, ErrFileTooLarge)
	}
	return data, nil
}

// catFile runs cat in the container and collects its output.
func (c *Cell) catFile(ctx context.Context, id, path string, max int, user string) ([]byte, error) {
	out := &cappedBuffer{max: max}
	errOut := &cappedBuffer{max: 1024}
	p, err := c.rt.Run(ctx, id, ProcessSpec{Path: catPath, Args: []string{"--", path}, User: user, Stdout: out, Stderr: errOut})
	if err != nil {
		return nil, fmt.Errorf("run %s: %w", catPath, err)
	}
	st, err := p.Wait(ctx)
	if err != nil {
		return nil, fmt.Errorf("wait for %s: %w", catPath, err)
	}
	data, over := out.result()
	switch {
	case over:
		return nil, fmt.Errorf("more than %d bytes: %w", max, ErrFileTooLarge)
	case st.Code != 0:
		msg, _ := errOut.result()
		return nil, fmt.Errorf("%s exited with status %d: %s", catPath, st.Code, strings.TrimSpace(string(msg)))
	}
	return data, nil
}

// cappedBuffer keeps the first max bytes written to it and remembers
// whether more came. Write never fails, so the writer is never blocked.
type cappedBuffer struct {
	mu   sync.Mutex
	max  int
	buf  bytes.Buffer
	over bool
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	room := b.max - b.buf.Len()
	if len(p) > room {
		b.over = true
		if room > 0 {
			b.buf.Write(p[:room])
		}
		return len(p), nil
	}
	b.buf.Write(p)
	return len(p), nil
}

func (b *cappedBuffer) result() ([]byte, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]byte(nil), b.buf.Bytes()...), b.over
}
