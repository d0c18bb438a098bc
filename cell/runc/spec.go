package runc

import (
	"os"
	"path"
	"strconv"

	"github.com/opencontainers/cgroups"
	devices "github.com/opencontainers/cgroups/devices/config"
	"github.com/opencontainers/runc/libcontainer/configs"
	"github.com/opencontainers/runc/libcontainer/specconv"
	"golang.org/x/sys/unix"

	"github.com/diegod/diegod/cell"
)

// containerCaps is the capability set of a process run as root in a
// container: Docker's default set without CAP_MKNOD, CAP_NET_RAW,
// CAP_SETFCAP and CAP_AUDIT_WRITE. Non-root processes get it as their
// bounding set only (no effective capabilities).
var containerCaps = []string{
	"CAP_CHOWN",
	"CAP_DAC_OVERRIDE",
	"CAP_FOWNER",
	"CAP_FSETID",
	"CAP_KILL",
	"CAP_NET_BIND_SERVICE",
	"CAP_SETGID",
	"CAP_SETPCAP",
	"CAP_SETUID",
	"CAP_SYS_CHROOT",
}

// maskedPaths and readonlyPaths are runc's defaults (specconv.Example).
var (
	maskedPaths = []string{
		"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
		"/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware",
		"/proc/scsi", "/sys/devices/virtual/powercap",
	}
	readonlyPaths = []string{"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}
)

// Cgroup figures.
const (
	mib = 1024 * 1024
	// maxCPUShares is what cpu_weight 100 maps to (Diego: shares =
	// 1024 * weight / 100); minCPUShares is the kernel's floor.
	maxCPUShares = 1024
	minCPUShares = 2
	// shmSize is the size of every container's /dev/shm.
	shmSize = "65536k"
)

// cpuShares maps Diego's cpu_weight (1..100) to cgroup cpu shares the way
// Diego's executor does: shares = 1024 * weight / 100, at least 2. A weight
// of 0 leaves the kernel default (1024).
func cpuShares(weight int) uint64 {
	if weight <= 0 {
		return 0
	}
	s := uint64(maxCPUShares) * uint64(weight) / 100
	if s < minCPUShares {
		s = minCPUShares
	}
	if s > cgroupsMaxShares {
		s = cgroupsMaxShares
	}
	return s
}

const cgroupsMaxShares = 262144

// cgroupConfig is a container's cgroup: path and limits.
func cgroupConfig(parent, id string, l cell.Limits) *cgroups.Cgroup {
	r := &cgroups.Resources{CpuShares: cpuShares(l.CPUWeight)}
	if l.MemoryMB > 0 {
		r.Memory = int64(l.MemoryMB) * mib
		// No swap: memory+swap equals memory where the kernel accounts it.
		if cgroups.IsCgroup2UnifiedMode() || cgroupFileExists("memory", "memory.memsw.limit_in_bytes") {
			r.MemorySwap = r.Memory
		}
	}
	if l.MaxPids > 0 {
		n := int64(l.MaxPids)
		r.PidsLimit = &n
	}
	for _, d := range specconv.AllowedDevices {
		if d.Permissions == "m" && d.Major == devices.Wildcard {
			continue // no "mknod anything": containers lack CAP_MKNOD anyway
		}
		rule := d.Rule
		r.Devices = append(r.Devices, &rule)
	}
	return &cgroups.Cgroup{Path: path.Join(parent, id), Resources: r}
}

// cgroupFileExists reports whether a cgroup v1 controller's root has file.
func cgroupFileExists(controller, file string) bool {
	_, err := os.Stat(path.Join("/sys/fs/cgroup", controller, file))
	return err == nil
}

// containerConfig builds the libcontainer config of a container whose root
// skeleton is rootfs, with the rootfs kind's mounts plus the standard ones.
func containerConfig(cgroupParent string, spec cell.ContainerSpec, rootfs, appDir, ctlDir, netnsPath string, fsMounts []*configs.Mount) *configs.Config {
	const nodevNosuid = unix.MS_NOSUID | unix.MS_NODEV
	tmpData := "mode=1777"
	if spec.Limits.DiskMB > 0 {
		tmpData += ",size=" + strconv.Itoa(spec.Limits.DiskMB) + "m"
	}
	mounts := []*configs.Mount{
		{Source: "proc", Destination: "/proc", Device: "proc", Flags: nodevNosuid | unix.MS_NOEXEC},
		{Source: "tmpfs", Destination: "/dev", Device: "tmpfs", Flags: unix.MS_NOSUID | unix.MS_STRICTATIME, Data: "mode=755,size=65536k"},
		{Source: "devpts", Destination: "/dev/pts", Device: "devpts", Flags: unix.MS_NOSUID | unix.MS_NOEXEC, Data: "newinstance,ptmxmode=0666,mode=0620,gid=5"},
		{Source: "shm", Destination: "/dev/shm", Device: "tmpfs", Flags: nodevNosuid | unix.MS_NOEXEC, Data: "mode=1777,size=" + shmSize},
		{Source: "mqueue", Destination: "/dev/mqueue", Device: "mqueue", Flags: nodevNosuid | unix.MS_NOEXEC},
		{Source: "sysfs", Destination: "/sys", Device: "sysfs", Flags: nodevNosuid | unix.MS_NOEXEC | unix.MS_RDONLY},
		{Source: "tmpfs", Destination: "/tmp", Device: "tmpfs", Flags: nodevNosuid, Data: tmpData},
	}
	mounts = append(mounts, fsMounts...)
	mounts = append(mounts,
		&configs.Mount{Source: appDir, Destination: AppDir, Device: "bind", Flags: unix.MS_BIND | unix.MS_REC | nodevNosuid},
		&configs.Mount{Source: ctlDir, Destination: ctlMount, Device: "bind", Flags: unix.MS_BIND | nodevNosuid | unix.MS_NOEXEC},
	)

	var devs []*devices.Device
	for _, d := range specconv.AllowedDevices {
		if d.Path != "" {
			devs = append(devs, d)
		}
	}
	ns := configs.Namespaces{
		{Type: configs.NEWNS},
		{Type: configs.NEWUTS},
		{Type: configs.NEWIPC},
		{Type: configs.NEWPID},
		{Type: configs.NEWNET, Path: netnsPath},
	}
	if configs.IsNamespaceSupported(configs.NEWCGROUP) {
		ns = append(ns, configs.Namespace{Type: configs.NEWCGROUP})
	}
	hostname := spec.ID
	if len(hostname) > 63 {
		hostname = hostname[:63]
	}
	return &configs.Config{
		Rootfs:          rootfs,
		Readonlyfs:      true,
		RootPropagation: unix.MS_SLAVE | unix.MS_REC,
		Mounts:          mounts,
		Devices:         devs,
		Hostname:        hostname,
		Namespaces:      ns,
		Capabilities:    rootCaps(),
		Cgroups:         cgroupConfig(cgroupParent, spec.ID, spec.Limits),
		MaskPaths:       maskedPaths,
		ReadonlyPaths:   readonlyPaths,
		NoNewPrivileges: true,
		// Processes cannot use keyrings (seccomp denies keyctl), so a fresh
		// session keyring per process buys nothing.
		NoNewKeyring: true,
		Rlimits:      nil,
	}
}

// rootCaps is the capability set of root processes.
func rootCaps() *configs.Capabilities {
	return &configs.Capabilities{
		Bounding:  containerCaps,
		Effective: containerCaps,
		Permitted: containerCaps,
	}
}

// userCaps is the capability set of a process run as uid.
func userCaps(uid int) *configs.Capabilities {
	if uid == 0 {
		return rootCaps()
	}
	return &configs.Capabilities{Bounding: containerCaps}
}
