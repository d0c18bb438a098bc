// The parts of the container init that must run before the Go runtime
// starts: the pause process (a container's idle PID 1) and the seccomp
// deny-list filter. See shim.go and doc.go.

#define _GNU_SOURCE
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shim.h"

#if defined(__x86_64__)
#define DIEGOD_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define DIEGOD_AUDIT_ARCH AUDIT_ARCH_AARCH64
#endif

#ifndef SECCOMP_FILTER_FLAG_TSYNC
#define SECCOMP_FILTER_FLAG_TSYNC 1
#endif
#ifndef SECCOMP_RET_KILL_PROCESS
#define SECCOMP_RET_KILL_PROCESS 0x80000000U
#endif

// denied lists the syscalls a container may not make: kernel modules and
// kexec, mounts and namespaces, keyrings, clock and swap changes, bpf,
// perf, userfaultfd, io_uring, process_vm_* and other syscalls Docker's
// default profile withholds from unprivileged containers.
static const int denied[] = {
#ifdef __NR_acct
	__NR_acct,
#endif
#ifdef __NR_add_key
	__NR_add_key,
#endif
#ifdef __NR_bpf
	__NR_bpf,
#endif
#ifdef __NR_clock_adjtime
	__NR_clock_adjtime,
#endif
#ifdef __NR_clock_settime
	__NR_clock_settime,
#endif
#ifdef __NR_create_module
	__NR_create_module,
#endif
#ifdef __NR_delete_module
	__NR_delete_module,
#endif
#ifdef __NR_fanotify_init
	__NR_fanotify_init,
#endif
#ifdef __NR_finit_module
	__NR_finit_module,
#endif
#ifdef __NR_fsconfig
	__NR_fsconfig,
#endif
#ifdef __NR_fsmount
	__NR_fsmount,
#endif
#ifdef __NR_fsopen
	__NR_fsopen,
#endif
#ifdef __NR_fspick
	__NR_fspick,
#endif
#ifdef __NR_get_kernel_syms
	__NR_get_kernel_syms,
#endif
#ifdef __NR_init_module
	__NR_init_module,
#endif
#ifdef __NR_io_uring_enter
	__NR_io_uring_enter,
#endif
#ifdef __NR_io_uring_register
	__NR_io_uring_register,
#endif
#ifdef __NR_io_uring_setup
	__NR_io_uring_setup,
#endif
#ifdef __NR_ioperm
	__NR_ioperm,
#endif
#ifdef __NR_iopl
	__NR_iopl,
#endif
#ifdef __NR_kcmp
	__NR_kcmp,
#endif
#ifdef __NR_kexec_file_load
	__NR_kexec_file_load,
#endif
#ifdef __NR_kexec_load
	__NR_kexec_load,
#endif
#ifdef __NR_keyctl
	__NR_keyctl,
#endif
#ifdef __NR_lookup_dcookie
	__NR_lookup_dcookie,
#endif
#ifdef __NR_mbind
	__NR_mbind,
#endif
#ifdef __NR_migrate_pages
	__NR_migrate_pages,
#endif
#ifdef __NR_mount
	__NR_mount,
#endif
#ifdef __NR_mount_setattr
	__NR_mount_setattr,
#endif
#ifdef __NR_move_mount
	__NR_move_mount,
#endif
#ifdef __NR_move_pages
	__NR_move_pages,
#endif
#ifdef __NR_name_to_handle_at
	__NR_name_to_handle_at,
#endif
#ifdef __NR_nfsservctl
	__NR_nfsservctl,
#endif
#ifdef __NR_open_by_handle_at
	__NR_open_by_handle_at,
#endif
#ifdef __NR_open_tree
	__NR_open_tree,
#endif
#ifdef __NR_perf_event_open
	__NR_perf_event_open,
#endif
#ifdef __NR_pivot_root
	__NR_pivot_root,
#endif
#ifdef __NR_process_vm_readv
	__NR_process_vm_readv,
#endif
#ifdef __NR_process_vm_writev
	__NR_process_vm_writev,
#endif
#ifdef __NR_query_module
	__NR_query_module,
#endif
#ifdef __NR_quotactl
	__NR_quotactl,
#endif
#ifdef __NR_quotactl_fd
	__NR_quotactl_fd,
#endif
#ifdef __NR_reboot
	__NR_reboot,
#endif
#ifdef __NR_request_key
	__NR_request_key,
#endif
#ifdef __NR_set_mempolicy
	__NR_set_mempolicy,
#endif
#ifdef __NR_setns
	__NR_setns,
#endif
#ifdef __NR_settimeofday
	__NR_settimeofday,
#endif
#ifdef __NR_swapoff
	__NR_swapoff,
#endif
#ifdef __NR_swapon
	__NR_swapon,
#endif
#ifdef __NR_sysfs
	__NR_sysfs,
#endif
#ifdef __NR__sysctl
	__NR__sysctl,
#endif
#ifdef __NR_syslog
	__NR_syslog,
#endif
#ifdef __NR_umount2
	__NR_umount2,
#endif
#ifdef __NR_unshare
	__NR_unshare,
#endif
#ifdef __NR_uselib
	__NR_uselib,
#endif
#ifdef __NR_userfaultfd
	__NR_userfaultfd,
#endif
#ifdef __NR_ustat
	__NR_ustat,
#endif
#ifdef __NR_vhangup
	__NR_vhangup,
#endif
};

#define NS_CLONE_FLAGS \
	(CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWCGROUP)

#define NDENIED (sizeof(denied) / sizeof(denied[0]))
// header (arch check, load nr, x32 check) + one jump per denied syscall +
// clone3 + clone (jump, load flags, test) + allow + deny + enosys.
#define MAXPROG (4 + NDENIED + 4 + 4)

int diegod_seccomp_install(void)
{
#ifndef DIEGOD_AUDIT_ARCH
	return -ENOSYS;
#else
	struct sock_filter prog[MAXPROG];
	unsigned short n = 0;
	size_t i;

	// The four verdicts sit after the body: a header (load arch, check
	// it, load nr, and on x86_64 the x32 check), one jump per denied
	// syscall, one for clone3 and three for clone.
#if defined(__x86_64__)
	const unsigned short head = 4;
#else
	const unsigned short head = 3;
#endif
	const unsigned short body = head + NDENIED + 1 + 3;
	const unsigned short allow = body, deny = body + 1, enosys = body + 2, kill = body + 3;

	// A foreign architecture (32-bit compat calls) has other syscall
	// numbers: kill the process (refusing with an errno would leave a
	// 32-bit program spinning on a failing exit).
	prog[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));
	prog[n] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, DIEGOD_AUDIT_ARCH, 0, kill - n - 1);
	n++;
	prog[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
#if defined(__x86_64__)
	// x32 syscalls (bit 30) reuse the x86_64 audit arch: same.
	prog[n] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000, kill - n - 1, 0);
	n++;
#endif
	for (i = 0; i < NDENIED; i++) {
		prog[n] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned int)denied[i], deny - n - 1, 0);
		n++;
	}
	// clone3 passes its flags in memory a filter cannot read: make libc
	// fall back to clone, whose flags it can.
#ifdef __NR_clone3
	prog[n] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_clone3, enosys - n - 1, 0);
#else
	prog[n] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0xffffffff, 0, 0);
#endif
	n++;
	prog[n] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_clone, 0, allow - n - 1);
	n++;
	prog[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0]));
	prog[n] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, NS_CLONE_FLAGS, deny - n - 1, allow - n - 1);
	n++;
	if (n != allow)
		return -EINVAL;
	prog[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	prog[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA));
	prog[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA));
	prog[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);

	struct sock_fprog fprog = {.len = n, .filter = prog};
	if (syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &fprog) != 0) {
		int err = errno;
		// TSYNC is unknown to very old kernels: a single thread needs none.
		if (err != EINVAL || syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fprog) != 0)
			return -err;
	}
	return 0;
#endif
}

// The pause process keeps a copy of the read end of every process's output
// pipe that an agent hands it over the control socket, so that a process
// never gets SIGPIPE when its agent dies. While the agent that sent an fd
// stays connected, the pause only holds it (the agent reads its own copy);
// once that agent's connection closes, the pause reads and discards it, so
// the process never blocks on a full pipe either. A restarted agent
// connects again for the processes it starts.
#define MAXHELD 1024
#define MAXAGENTS 8

struct held {
	int fd;
	int agent; // index into agents, or -1: drain
};

static struct held held[MAXHELD];
static int nheld;
static int agents[MAXAGENTS];

static void drop_held(int i)
{
	close(held[i].fd);
	held[i] = held[--nheld];
}

// agent_gone closes agent slot a and turns its fds to draining.
static void agent_gone(int a)
{
	int i;

	close(agents[a]);
	agents[a] = -1;
	for (i = 0; i < nheld; i++)
		if (held[i].agent == a)
			held[i].agent = -1;
}

// recv_fds receives one message from agent slot a and holds its fds.
static void recv_fds(int a)
{
	char buf[16];
	char cbuf[CMSG_SPACE(sizeof(int) * 8)];
	struct iovec iov = {.iov_base = buf, .iov_len = sizeof(buf)};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
	struct cmsghdr *c;
	ssize_t n = recvmsg(agents[a], &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		agent_gone(a);
		return;
	}
	for (c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
		int *fds, k, nfds;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		fds = (int *)CMSG_DATA(c);
		nfds = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (k = 0; k < nfds; k++) {
			if (nheld == MAXHELD) {
				close(fds[k]);
				continue;
			}
			held[nheld].fd = fds[k];
			held[nheld].agent = a;
			nheld++;
		}
	}
}

// listen_ctl binds the control socket; -1 if it cannot.
static int listen_ctl(void)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	if (fd < 0)
		return -1;
	strncpy(addr.sun_path, DIEGOD_CTL_PATH, sizeof(addr.sun_path) - 1);
	unlink(DIEGOD_CTL_PATH);
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 || listen(fd, MAXAGENTS) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

// diegod_pause is a container's PID 1: it reaps the orphans re-parented to
// it, keeps output pipes (above) and exits on SIGTERM or SIGINT. It never
// returns.
static void diegod_pause(void)
{
	static struct pollfd pfds[2 + MAXAGENTS + MAXHELD];
	static char sink[65536];
	sigset_t all, wanted;
	int sfd, lfd, i;

	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, NULL);
	sigemptyset(&wanted);
	sigaddset(&wanted, SIGCHLD);
	sigaddset(&wanted, SIGTERM);
	sigaddset(&wanted, SIGINT);
	sfd = signalfd(-1, &wanted, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0)
		_exit(111);
	lfd = listen_ctl();
	for (i = 0; i < MAXAGENTS; i++)
		agents[i] = -1;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0)
		diegod_seccomp_install();

	for (;;) {
		int n = 0, a, base;

		pfds[n++] = (struct pollfd){.fd = sfd, .events = POLLIN};
		pfds[n++] = (struct pollfd){.fd = lfd, .events = POLLIN};
		for (a = 0; a < MAXAGENTS; a++)
			pfds[n++] = (struct pollfd){.fd = agents[a], .events = POLLIN};
		base = n;
		for (i = 0; i < nheld; i++)
			pfds[n++] = (struct pollfd){.fd = held[i].fd, .events = held[i].agent < 0 ? POLLIN : 0};
		if (poll(pfds, n, -1) < 0)
			continue;

		if (pfds[0].revents & POLLIN) {
			struct signalfd_siginfo si;

			while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
				if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT)
					_exit(0);
			}
			while (waitpid(-1, NULL, WNOHANG) > 0)
				;
		}
		// Held fds first: the indices below base+nheld are still valid.
		for (i = nheld - 1; i >= 0; i--) {
			short re = pfds[base + i].revents;

			if (re == 0)
				continue;
			if (re & POLLIN) {
				ssize_t r = read(held[i].fd, sink, sizeof(sink));
				if (r > 0 || (r < 0 && (errno == EAGAIN || errno == EINTR)))
					continue;
			}
			drop_held(i);
		}
		for (a = 0; a < MAXAGENTS; a++) {
			if (agents[a] >= 0 && pfds[2 + a].revents)
				recv_fds(a);
		}
		if (lfd >= 0 && (pfds[1].revents & POLLIN)) {
			int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

			if (fd >= 0) {
				for (a = 0; a < MAXAGENTS && agents[a] >= 0; a++)
					;
				if (a == MAXAGENTS)
					close(fd);
				else
					agents[a] = fd;
			}
		}
	}
}

// diegod_shim_ctor runs before the Go runtime in every process of this
// binary. In the pause process (env DIEGOD_SHIM_ENV=pause) it never returns;
// anywhere else it does nothing.
__attribute__((constructor)) static void diegod_shim_ctor(void)
{
	const char *mode = getenv(DIEGOD_SHIM_ENV);
	if (mode != NULL && strcmp(mode, "pause") == 0)
		diegod_pause();
}
