// Command diegod is Cloud Foundry's Diego container scheduler as one
// binary: `diegod agent` runs a node; every other command is a client of a
// node's API.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/diegod/diegod/model"
)

// Exit codes.
const (
	exitOK        = 0
	exitError     = 1
	exitUnplaced  = 2 // submit: not every instance could be placed
	exitUserInput = 1
)

// exitCodeError carries a specific exit code up to main.
type exitCodeError struct {
	code int
	err  error
}

func (e *exitCodeError) Error() string { return e.err.Error() }
func (e *exitCodeError) Unwrap() error { return e.err }

func main() {
	if reexecInit() {
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := newRootCmd()
	err := root.ExecuteContext(ctx)
	os.Exit(exitCode(err))
}

func exitCode(err error) int {
	if err == nil {
		return exitOK
	}
	var ec *exitCodeError
	if errors.As(err, &ec) {
		if ec.err != nil {
			fmt.Fprintln(os.Stderr, "error:", ec.err)
		}
		return ec.code
	}
	msg := err.Error()
	if model.CodeOf(err) == model.CodeInternal {
		msg = err.Error()
	}
	fmt.Fprintln(os.Stderr, "error:", msg)
	return exitError
}
