package runc

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/opencontainers/runc/libcontainer/configs"
	"golang.org/x/sys/unix"
)

// Root filesystem kinds (ContainerSpec.RootFS).
const (
	RootFSHost    = "host"      // the host's read-only view (the default)
	rootFSDocker  = "docker://" // prefix, later
	rootFSDroplet = "droplet:"  // prefix, later
)

// AppDir is the writable per-instance directory inside every container and
// the default working directory (Cloud Foundry's /home/vcap/app).
const AppDir = "/home/vcap/app"

// rootFS prepares a container's root filesystem. Implementations: hostRootFS;
// docker images and droplets come later.
type rootFS interface {
	// Root returns the directory that becomes a container's read-only /,
	// with every mount point in place. It is shared by the containers of
	// this kind: libcontainer mounts on it inside each container's own
	// mount namespace.
	Root() (string, error)
	// Mounts returns the mounts to make inside the root, in order. etcDir
	// receives the container's own copies of files such as /etc/hosts.
	Mounts(etcDir string) ([]*configs.Mount, error)
	// PasswdPath and GroupPath are the host paths of the user databases the
	// container sees (for resolving ProcessSpec.User).
	PasswdPath() string
	GroupPath() string
}

// resolveRootFS returns the rootfs for a spec's RootFS field.
func resolveRootFS(kind string, host *hostRootFS) (rootFS, error) {
	switch {
	case kind == "" || kind == RootFSHost:
		return host, nil
	case strings.HasPrefix(kind, rootFSDocker), strings.HasPrefix(kind, rootFSDroplet):
		return nil, fmt.Errorf("%w: %q", ErrRootFSNotSupported, kind)
	default:
		return nil, fmt.Errorf("%w: unknown rootfs %q", ErrInvalidSpec, kind)
	}
}

// hostRootFS is the "host" rootfs: the host's /usr, /bin, /sbin and /lib*
// bind-mounted read-only (usrmerge symlinks recreated as symlinks), a few
// /etc files, and fresh /proc, /dev, /tmp.
type hostRootFS struct {
	root string // "/" except in tests
	// skeleton is the shared root directory; extraDirs are mount points
	// the runtime adds (its control socket directory).
	skeleton  string
	extraDirs []string
	mu        sync.Mutex
	built     bool
	// binds are the host directories bound at the same path; links are the
	// top-level symlinks recreated as is (e.g. bin -> usr/bin).
	binds []string
	links map[string]string
	// etc are the /etc entries: a symlink target (recreated) or a resolved
	// host path to bind.
	etcLinks map[string]string
	etcBinds map[string]string
	// etcCopies are copied per container (they may change on the host, and
	// /etc/hosts gains the container's own name).
	etcCopies []string
}

// hostTopDirs are the host directories the "host" rootfs shows.
var hostTopDirs = []string{"usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32"}

// hostEtc are the /etc entries shown read-only (those that exist).
var hostEtc = []string{
	"passwd", "group", "nsswitch.conf", "ssl", "ca-certificates", "ca-certificates.conf",
	"ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "timezone", "alternatives",
	"mime.types", "protocols", "services", "host.conf", "gai.conf", "os-release",
}

// hostEtcCopies are copied into each container rather than bound.
var hostEtcCopies = []string{"resolv.conf", "hosts"}

// newHostRootFS inspects the host once: which top-level directories exist
// and which are symlinks (usrmerge). The skeleton is built under skeleton
// on first use.
func newHostRootFS(root, skeleton string, extraDirs ...string) (*hostRootFS, error) {
	h := &hostRootFS{
		root: root, skeleton: skeleton, extraDirs: extraDirs,
		links: map[string]string{}, etcLinks: map[string]string{}, etcBinds: map[string]string{},
	}
	for _, name := range hostTopDirs {
		p := filepath.Join(root, name)
		fi, err := os.Lstat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("inspect host %s: %w", p, err)
		}
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return nil, fmt.Errorf("inspect host %s: %w", p, err)
			}
			// Only links that stay inside the shown tree can be recreated.
			resolved, err := filepath.EvalSymlinks(p)
			if err != nil {
				continue // dangling: skip
			}
			if h.shown(resolved) {
				h.links["/"+name] = h.rebase(target)
			} else if st, err := os.Stat(resolved); err == nil && st.IsDir() {
				h.binds = append(h.binds, "/"+name)
			}
		case fi.IsDir():
			h.binds = append(h.binds, "/"+name)
		}
	}
	if len(h.binds) == 0 {
		return nil, fmt.Errorf("host rootfs: none of %v is a directory under %s", hostTopDirs, root)
	}
	for _, name := range hostEtc {
		p := filepath.Join(root, "etc", name)
		fi, err := os.Lstat(p)
		if err != nil {
			continue
		}
		dst := "/etc/" + name
		resolved, err := filepath.EvalSymlinks(p)
		if err != nil {
			continue // dangling
		}
		if fi.Mode()&fs.ModeSymlink != 0 && h.shown(resolved) {
			target, err := os.Readlink(p)
			if err == nil {
				h.etcLinks[dst] = h.rebase(target)
				continue
			}
		}
		h.etcBinds[dst] = resolved
	}
	h.etcCopies = append(h.etcCopies, hostEtcCopies...)
	return h, nil
}

// rebase makes an absolute link target relative to the container's root
// (it names a host path under h.root).
func (h *hostRootFS) rebase(target string) string {
	if !filepath.IsAbs(target) {
		return target
	}
	rel, err := filepath.Rel(h.root, target)
	if err != nil || strings.HasPrefix(rel, "..") {
		return target
	}
	return "/" + rel
}

// shown reports whether a resolved host path is inside a bound directory.
func (h *hostRootFS) shown(resolved string) bool {
	rel, err := filepath.Rel(h.root, resolved)
	if err != nil || strings.HasPrefix(rel, "..") {
		return false
	}
	first := strings.SplitN(rel, string(filepath.Separator), 2)[0]
	return first == "usr" || (first != "etc" && h.isBound("/"+first))
}

func (h *hostRootFS) isBound(p string) bool {
	for _, b := range h.binds {
		if b == p {
			return true
		}
	}
	return false
}

// PasswdPath implements rootFS.
func (h *hostRootFS) PasswdPath() string { return filepath.Join(h.root, "etc", "passwd") }

// GroupPath implements rootFS.
func (h *hostRootFS) GroupPath() string { return filepath.Join(h.root, "etc", "group") }

const roBind = unix.MS_BIND | unix.MS_REC | unix.MS_RDONLY | unix.MS_NOSUID | unix.MS_NODEV

// Root implements rootFS: the skeleton is built once, on first use, and
// only ever added to (running containers have their mounts on it).
func (h *hostRootFS) Root() (string, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.built {
		return h.skeleton, nil
	}
	dirs := append([]string{"/etc", "/proc", "/dev", "/sys", "/tmp", AppDir}, h.extraDirs...)
	dirs = append(dirs, h.binds...)
	for _, d := range dirs {
		if err := os.MkdirAll(filepath.Join(h.skeleton, d), 0o755); err != nil {
			return "", fmt.Errorf("build rootfs skeleton: %w", err)
		}
	}
	links := map[string]string{}
	for l, t := range h.links {
		links[l] = t
	}
	for l, t := range h.etcLinks {
		links[l] = t
	}
	for link, target := range links {
		p := filepath.Join(h.skeleton, link)
		if _, err := os.Lstat(p); err == nil {
			continue
		}
		if err := os.Symlink(target, p); err != nil {
			return "", fmt.Errorf("build rootfs skeleton: %w", err)
		}
	}
	for dst, isDir := range h.etcMountPoints() {
		p := filepath.Join(h.skeleton, dst)
		var err error
		if isDir {
			err = os.MkdirAll(p, 0o755)
		} else if _, serr := os.Lstat(p); serr != nil {
			err = os.WriteFile(p, nil, 0o644)
		}
		if err != nil {
			return "", fmt.Errorf("build rootfs skeleton: %w", err)
		}
	}
	h.built = true
	return h.skeleton, nil
}

// etcMountPoints maps each /etc bind destination to whether it is a
// directory.
func (h *hostRootFS) etcMountPoints() map[string]bool {
	out := map[string]bool{}
	for dst, src := range h.etcBinds {
		if st, err := os.Stat(src); err == nil {
			out[dst] = st.IsDir()
		}
	}
	for _, name := range h.etcCopies {
		out["/etc/"+name] = false
	}
	return out
}

// Mounts implements rootFS.
func (h *hostRootFS) Mounts(etcDir string) ([]*configs.Mount, error) {
	var mounts []*configs.Mount
	for _, b := range h.binds {
		mounts = append(mounts, &configs.Mount{Source: filepath.Join(h.root, b), Destination: b, Device: "bind", Flags: roBind})
	}
	binds := make(map[string]string, len(h.etcBinds)+len(h.etcCopies))
	for dst, src := range h.etcBinds {
		binds[dst] = src
	}
	for _, name := range h.etcCopies {
		dst := filepath.Join(etcDir, name)
		src, err := filepath.EvalSymlinks(filepath.Join(h.root, "etc", name))
		if err == nil {
			err = copyFile(src, dst)
		} else {
			err = os.WriteFile(dst, nil, 0o644) // keep the mount point covered
		}
		if err != nil {
			return nil, fmt.Errorf("copy /etc/%s: %w", name, err)
		}
		binds["/etc/"+name] = dst
	}
	for _, dst := range sortedKeys(binds) {
		mounts = append(mounts, &configs.Mount{Source: binds[dst], Destination: dst, Device: "bind", Flags: roBind})
	}
	return mounts, nil
}

// copyFile copies a small regular file.
func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o644)
}
