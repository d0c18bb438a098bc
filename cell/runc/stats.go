package runc

import (
	"context"
	"fmt"
	"io/fs"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/diegod/diegod/cell"
)

// Stats implements cell.Runtime. CPU time and memory come from the
// container's cgroup (memory excludes inactive page cache, as `docker
// stats` does); disk is measured, not enforced: the bytes allocated under
// the app directory plus what the container's /tmp tmpfs holds (that tmpfs
// is capped at disk_mb).
func (r *Runtime) Stats(ctx context.Context, id string) (cell.Stats, error) {
	c, err := r.get(id)
	if err != nil {
		return cell.Stats{}, fmt.Errorf("stats of container %s: %w", id, err)
	}
	c.mu.Lock()
	lc, limits, destroyed := c.lc, c.meta.Limits, c.destroyed
	c.mu.Unlock()
	if destroyed || lc == nil {
		return cell.Stats{}, fmt.Errorf("stats of container %s: %w", id, ErrNotFound)
	}
	var s cell.Stats
	st, err := lc.Stats()
	if err != nil {
		return cell.Stats{}, fmt.Errorf("stats of container %s: %w", id, err)
	}
	if cs := st.CgroupStats; cs != nil {
		s.CPUTime = time.Duration(cs.CpuStats.CpuUsage.TotalUsage)
		mem := cs.MemoryStats
		s.MemoryBytes = mem.Usage.Usage
		inactive := mem.Stats["total_inactive_file"] // cgroup v1
		if v, ok := mem.Stats["inactive_file"]; ok && inactive == 0 {
			inactive = v // cgroup v2
		}
		if inactive < s.MemoryBytes {
			s.MemoryBytes -= inactive
		}
	}
	s.MemoryLimit = uint64(limits.MemoryMB) * mib
	s.DiskLimit = uint64(limits.DiskMB) * mib
	s.DiskBytes = dirUsage(filepath.Join(r.instanceDir(id), "app"))
	if state, err := lc.State(); err == nil && state.InitProcessPid > 0 {
		s.DiskBytes += tmpfsUsage("/proc/" + strconv.Itoa(state.InitProcessPid) + "/root/tmp")
	}
	return s, ctx.Err()
}

// dirUsage is the space allocated to the files under dir (hard links
// counted once).
func dirUsage(dir string) uint64 {
	var total uint64
	seen := map[uint64]bool{}
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		st, ok := info.Sys().(*syscall.Stat_t)
		if !ok {
			return nil
		}
		if st.Nlink > 1 && !d.IsDir() {
			if seen[st.Ino] {
				return nil
			}
			seen[st.Ino] = true
		}
		total += uint64(st.Blocks) * 512
		return nil
	})
	return total
}

// tmpfsUsage is the space used on the filesystem at path.
func tmpfsUsage(path string) uint64 {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return 0
	}
	return (st.Blocks - st.Bfree) * uint64(st.Bsize)
}
