#ifndef DIEGOD_SHIM_H
#define DIEGOD_SHIM_H

// DIEGOD_SHIM_ENV selects what the C constructor does in a process of this
// binary: "pause" turns it into a container's idle PID 1.
#define DIEGOD_SHIM_ENV "_DIEGOD_SHIM"

// DIEGOD_CTL_PATH is the pause process's control socket, inside the
// container (see pipekeeper.go).
#define DIEGOD_CTL_PATH "/.diegod/ctl.sock"

// diegod_seccomp_install installs the deny-list filter on every thread of
// the calling process; 0 or -errno.
int diegod_seccomp_install(void);

#endif
