// Package runc is the real container runtime of a cell: it implements
// cell.Runtime and cell.Adopter with libcontainer (runc v1.5) embedded in
// the diegod binary. No runc, docker or containerd binary is used.
//
// # The binary is its own container init
//
// libcontainer starts every container process by re-executing the current
// binary as "<exe> init". main must therefore call Init first thing when
// os.Args[1] == "init" (tests do it in TestMain). A container's init sets
// up the root filesystem and then re-executes its own sealed copy
// (/proc/self/exe) as the pause process, a C loop in shim.c that runs
// before the Go runtime: the container's idle PID 1, which reaps orphans
// and keeps output pipes alive (see keeper.go). Processes run into the
// container (Run) are libcontainer "setns" processes: children of the
// agent, so their exit status is known.
//
// # What is isolated
//
//   - Namespaces: mount, pid, uts, ipc, network and cgroup (no user
//     namespace: container root is host root with fewer capabilities).
//   - Root filesystem "host" (the default): the host's /usr, /bin, /sbin,
//     /lib* (usrmerge symlinks recreated as symlinks) and a few /etc files
//     bind-mounted read-only, nosuid, nodev, on a read-only skeleton shared
//     by all containers; fresh /proc, /dev (libcontainer's default
//     devices), /dev/pts, /dev/shm, /sys (read-only), a /tmp tmpfs, and the
//     writable per-instance /home/vcap/app (the default working dir).
//     /etc/hosts (plus the container's own name) and /etc/resolv.conf are
//     per-container copies. Other kinds (docker://, droplet:) return
//     ErrRootFSNotSupported; rootFS is where they plug in. The pause
//     process is the host's dynamically linked diegod binary: an image
//     rootfs will need it statically linked or its libraries mounted.
//   - Privileges: no_new_privileges; Docker's default capability set minus
//     CAP_MKNOD, CAP_NET_RAW, CAP_SETFCAP and CAP_AUDIT_WRITE for root
//     processes, and only as the bounding set for other users; runc's masked
//     and read-only /proc paths; a seccomp deny-list (shim.c: mount and
//     namespace syscalls, clone with namespace flags, kernel modules, kexec,
//     keyrings, bpf, perf, ptrace-like process_vm_*, userfaultfd, io_uring,
//     clock and swap changes refused with EPERM; clone3 with ENOSYS so libc
//     falls back to clone, whose flags the filter checks; a 32-bit or x32
//     syscall kills the process). libcontainer's own
//     seccomp needs libseccomp headers, absent here, so the filter is a
//     hand-written BPF program installed by the pause process and by Init
//     for every process run into a container. The default user is "vcap"
//     (uid/gid 2000 when the host has no such user); the pause runs as
//     nobody without capabilities.
//   - Network: a netns per container with a veth pair on the node bridge
//     (Config.BridgeName, address from Config.Subnet, the bridge holds the
//     gateway), egress masquerade, and a host port from Config.PortRange*
//     for every container port: nftables DNAT in prerouting and output for
//     any local address (so host:port, 127.0.0.1:port and a container
//     going through the host all work), or an in-process TCP proxy when
//     Config.UserspaceProxy is set or nftables is unavailable. ProbeAddrs
//     are the container's own ip:port, reachable from the host. Containers
//     can reach each other and the host's services through the bridge
//     (no policy yet).
//
// # Limits: enforced or measured
//
//   - memory_mb: enforced (cgroup memory limit, swap limited to zero where
//     the kernel accounts swap). An OOM kill is reported as
//     ExitStatus.OOMKilled: the cgroup's oom_kill count rose while the
//     process ran and it did not exit 0.
//   - cpu_weight: enforced as cpu shares = 1024 * weight / 100 (Diego's
//     mapping; at least 2; 0 leaves the kernel default 1024).
//   - max_pids: enforced (pids cgroup; the pause process counts as one).
//   - disk_mb: measured, not enforced, for the app directory (Stats walks
//     it); /tmp is a tmpfs capped at disk_mb (counted against memory_mb, as
//     any tmpfs is) and its usage is added to Stats.DiskBytes.
//
// # State and restarts
//
// Everything lives under Config.StateDir (layout in state.go); each
// container's labels, address, host ports and processes are in a meta.json.
// New reloads them: List shows the containers an earlier agent created,
// their addresses and ports stay reserved, NAT rules are rebuilt, and
// half-created containers are destroyed. Adopt returns the oldest running
// process Run started (the app, not its health checks); a process started
// by an earlier agent is watched through a pidfd and its exit code is
// unknown (ExitCodeUnknown), OOM kills excepted. Its output is discarded
// (the pause process drains it). Destroy leaves nothing behind: processes,
// cgroups, libcontainer state, NAT rules and host ports, veth, netns,
// mounts and files.
//
// # Concurrency
//
// Runtime methods are safe for concurrent use. Create, Run, Destroy and
// Adopt on one container are serialised by the container's lock; different
// containers proceed in parallel. Address and port allocation share one
// lock; nftables changes another.
package runc
