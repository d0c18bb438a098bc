package runc

/*
#cgo CFLAGS: -Wall
#include "shim.h"
*/
import "C"

import (
	"fmt"
	"os"
	"syscall"

	"github.com/opencontainers/runc/libcontainer"
	// nsenter's C constructor joins the container's namespaces before the
	// Go runtime starts in "init" processes (and does nothing elsewhere).
	_ "github.com/opencontainers/runc/libcontainer/nsenter"
)

// shimEnv is the environment variable that turns a process of this binary
// into a container's pause process (see shim.c; same as DIEGOD_SHIM_ENV).
const shimEnv = "_DIEGOD_SHIM"

// pauseArgs is the container init's command: the init re-executes its own
// sealed copy of this binary, whose C constructor becomes the pause loop
// before the Go runtime starts. No binary needs to exist in the rootfs.
var pauseArgs = []string{"/proc/self/exe"}

// Init is the container-side entry point of this binary. main must call it
// first thing when len(os.Args) > 1 && os.Args[1] == "init", before parsing
// flags or starting anything: libcontainer re-executes the binary as
// "<exe> init" to set up every container process. Init never returns.
//
// For processes run into an existing container it first installs the
// seccomp deny-list (see doc.go); a container's own init sets up the root
// filesystem and then becomes the pause process, which installs the filter
// itself.
func Init() {
	if os.Getenv("_LIBCONTAINER_INITTYPE") == "setns" {
		if rc := C.diegod_seccomp_install(); rc != 0 && syscall.Errno(-rc) != syscall.ENOSYS {
			fmt.Fprintf(os.Stderr, "diegod init: install seccomp filter: %v\n", syscall.Errno(-rc))
			os.Exit(1)
		}
	}
	libcontainer.Init()
}
