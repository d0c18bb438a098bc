package runc

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/diegod/diegod/cell"
	"github.com/diegod/diegod/model"
)

// On-disk layout under Config.StateDir:
//
//	libcontainer/<id>/state.json   libcontainer's own state
//	rootfs/host/                   the shared skeleton of the "host" root (mount points)
//	instances/<id>/meta.json       meta: labels, spec, address, ports, processes
//	instances/<id>/app/            the writable /home/vcap/app
//	instances/<id>/etc/            per-container copies (hosts, resolv.conf)
//	instances/<id>/ctl/            the pause process's control socket
//	instances/<id>/netns           the pinned network namespace (bind mount)
const (
	libcontainerDir = "libcontainer"
	rootfsDir       = "rootfs"
	instancesDir    = "instances"
	metaFile        = "meta.json"
)

// meta is what the runtime persists about a container, so that a restarted
// agent can list, adopt and destroy it.
type meta struct {
	ID        string              `json:"id"`
	Labels    map[string]string   `json:"labels,omitempty"`
	RootFS    string              `json:"rootfs"`
	Limits    cell.Limits         `json:"limits"`
	Env       []string            `json:"env,omitempty"`
	IP        netip.Addr          `json:"ip"`
	Ports     []model.PortMapping `json:"ports,omitempty"`
	CreatedAt time.Time           `json:"created_at"`
	// Ready is set once Create finished; a container without it is a
	// leftover of a Create interrupted by a crash.
	Ready bool `json:"ready"`
	// Procs are the processes Run started, oldest first, pruned of those
	// known to have exited. Adopt picks the oldest still alive.
	Procs []procRecord `json:"procs,omitempty"`
	// Ran is set once any process was run (a container with none alive is
	// then stopped rather than created).
	Ran bool `json:"ran,omitempty"`
}

// procRecord identifies a process across agent restarts (pid + start time
// guard against pid reuse) and remembers the OOM-kill count when it began.
type procRecord struct {
	PID       int    `json:"pid"`
	StartTime uint64 `json:"start_time"`
	OOMBase   uint64 `json:"oom_base"`
}

// instanceDir is the directory of a container's files.
func (r *Runtime) instanceDir(id string) string {
	return filepath.Join(r.cfg.StateDir, instancesDir, id)
}

// saveMeta writes m atomically.
func (r *Runtime) saveMeta(m *meta) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("encode meta %s: %w", m.ID, err)
	}
	dir := r.instanceDir(m.ID)
	tmp := filepath.Join(dir, metaFile+".tmp")
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("write meta %s: %w", m.ID, err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, metaFile)); err != nil {
		return fmt.Errorf("write meta %s: %w", m.ID, err)
	}
	return nil
}

// loadMetas reads every container's meta. Unreadable ones are returned as
// ids in bad (their directories exist and must be destroyed).
func (r *Runtime) loadMetas() (metas []*meta, bad []string, err error) {
	entries, err := os.ReadDir(filepath.Join(r.cfg.StateDir, instancesDir))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("list containers: %w", err)
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(r.instanceDir(e.Name()), metaFile))
		var m meta
		if err == nil {
			err = json.Unmarshal(b, &m)
		}
		if err != nil || m.ID != e.Name() {
			bad = append(bad, e.Name())
			continue
		}
		metas = append(metas, &m)
	}
	return metas, bad, nil
}

// procStartTime is a process's start time in clock ticks since boot (field
// 22 of /proc/<pid>/stat), 0 if the process is gone.
func procStartTime(pid int) uint64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// The command name (field 2) may contain spaces: fields start after ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state); field 22 is f[19].
	if len(f) < 20 || f[0] == "Z" || f[0] == "X" {
		return 0
	}
	v, err := strconv.ParseUint(f[19], 10, 64)
	if err != nil {
		return 0
	}
	return v
}

// alive reports whether the recorded process still runs (not a zombie).
// A record without a start time is of a process that had already exited
// when it was recorded (a short process under load): never alive, or a
// gone process would match the 0 that procStartTime returns for it.
func (p procRecord) alive() bool {
	return p.PID > 0 && p.StartTime != 0 && procStartTime(p.PID) == p.StartTime
}

// sortedKeys returns m's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
