package main

import (
	"os"

	"github.com/diegod/diegod/cell/runc"
)

// reexecInit runs the container init when libcontainer re-executed this
// binary as one (`/proc/self/exe init`); it never returns then.
func reexecInit() bool {
	if len(os.Args) > 1 && os.Args[1] == "init" {
		runc.Init()
		return true
	}
	return false
}
