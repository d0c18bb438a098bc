package main

import (
	"fmt"
	"os"
	"testing"
)

// TestMain lets the test binary serve as the container init, as main does
// for the diegod binary: libcontainer re-executes it as "<exe> init" for
// every container process of the real-container tests. Any other
// re-execution refuses to run the tests, which would recurse.
func TestMain(m *testing.M) {
	if reexecInit() {
		return
	}
	if os.Getenv("_LIBCONTAINER_INITPIPE") != "" || os.Getenv(testDepthEnv) != "" {
		fmt.Fprintln(os.Stderr, "diegod.test: re-executed outside init: not running tests", os.Args)
		os.Exit(3)
	}
	os.Setenv(testDepthEnv, "1")
	os.Exit(m.Run())
}

// testDepthEnv marks the environment of a running test binary.
const testDepthEnv = "DIEGOD_MAIN_TEST_RUNNING"
