package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/diegod/diegod/model"
	"github.com/diegod/diegod/node"
)

func newSubmitCmd() *cobra.Command {
	var detach bool
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "submit FILE",
		Short: "Desire the LRP in FILE (YAML or JSON) and wait until every instance runs",
		Long: `Desire the LRP in FILE (YAML or JSON; "-" reads standard input), then wait with a
live progress line until every instance is RUNNING.

Exit status: 0 when all instances run, 2 when some could not be placed (the
placement error is printed), 1 on any other error or when --timeout passes.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			lrp, err := loadSpec(args[0], node.ParseLRPSpec)
			if err != nil {
				return err
			}
			c, err := client()
			if err != nil {
				return err
			}
			res, err := c.Submit(cmd.Context(), lrp)
			if err != nil {
				return err
			}
			if detach {
				if jsonOutput() {
					return printJSON(os.Stdout, res)
				}
				fmt.Printf("%s submitted (%d instances)\n", lrp.ProcessGUID, lrp.Instances)
				return nil
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			return waitRunning(ctx, c, lrp.ProcessGUID, res.Index)
		},
	}
	cmd.Flags().BoolVar(&detach, "detach", false, "return as soon as the LRP is stored")
	cmd.Flags().DurationVar(&timeout, "timeout", 5*time.Minute, "how long to wait for every instance to run")
	return cmd
}

// loadSpec checks the output flag, then reads, parses and validates the
// spec in path ("-" for stdin); errors name the file.
func loadSpec[T any, PT interface {
	*T
	Validate() error
}](path string, parse func([]byte) (T, error)) (T, error) {
	var zero T
	if err := checkOutput(); err != nil {
		return zero, err
	}
	data, err := readSpecFile(path)
	if err != nil {
		return zero, err
	}
	v, err := parse(data)
	if err != nil {
		return zero, fmt.Errorf("%s: %w", path, err)
	}
	if err := PT(&v).Validate(); err != nil {
		return zero, fmt.Errorf("%s: %w", path, err)
	}
	return v, nil
}

func readSpecFile(path string) ([]byte, error) {
	if path == "-" {
		return io.ReadAll(io.LimitReader(os.Stdin, node.DefaultMaxRequest+1))
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.Size() > node.DefaultMaxRequest {
		return nil, fmt.Errorf("%s: %d bytes is larger than the %d byte limit", path, st.Size(), node.DefaultMaxRequest)
	}
	return os.ReadFile(path)
}

// placementSettle is how long placement must stay failed, with nothing
// else in flight, before submit gives up with exit status 2.
const placementSettle = 3 * time.Second

// waitRunning follows the LRP with blocking queries and prints progress
// until every instance runs (nil), or placement has failed for every
// instance not running and nothing else is in flight (exit 2).
func waitRunning(ctx context.Context, c *node.Client, guid string, index uint64) error {
	tty := term.IsTerminal(int(os.Stderr.Fd()))
	last := ""
	progress := func(s string) {
		if s == last {
			return
		}
		last = s
		if tty {
			fmt.Fprintf(os.Stderr, "\r\033[K%s", s)
		} else {
			fmt.Fprintln(os.Stderr, s)
		}
	}
	defer func() {
		if tty && last != "" {
			fmt.Fprintln(os.Stderr)
		}
	}()
	var stuckSince time.Time // when placement last looked finally failed
	for {
		wait := 10 * time.Second
		if !stuckSince.IsZero() {
			wait = max(time.Until(stuckSince.Add(placementSettle)), 10*time.Millisecond)
		}
		st, err := c.Status(ctx, guid, index, wait)
		if err != nil {
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return &exitCodeError{code: exitError, err: fmt.Errorf("%s: not every instance is running after the timeout (%s)", guid, last)}
			}
			return err
		}
		index = st.Index
		s := countInstances(st)
		progress(fmt.Sprintf("%s: %d/%d running, %d starting, %d crashed, %d unplaced",
			guid, s.running, st.Desired.Instances, s.starting, s.crashed, s.unplaced))
		switch {
		case s.running >= st.Desired.Instances:
			if jsonOutput() {
				return printJSON(os.Stdout, st)
			}
			fmt.Printf("%s: all %d instances running\n", guid, st.Desired.Instances)
			return nil
		case s.unplaced > 0 && s.starting == 0 && s.running+s.unplaced+s.crashed >= st.Desired.Instances:
			// A cell that is just registering, or capacity being freed,
			// makes the leader retry at once: give it a moment.
			if stuckSince.IsZero() {
				stuckSince = time.Now()
			}
			if time.Since(stuckSince) >= placementSettle {
				return &exitCodeError{code: exitUnplaced, err: fmt.Errorf("%s: %d of %d instances could not be placed: %s",
					guid, s.unplaced, st.Desired.Instances, s.placementError)}
			}
		default:
			stuckSince = time.Time{}
		}
		if ctx.Err() != nil {
			return &exitCodeError{code: exitError, err: fmt.Errorf("%s: not every instance is running after the timeout (%s)", guid, last)}
		}
	}
}

type instanceCounts struct {
	running, starting, crashed, unplaced int
	placementError                       string
}

func countInstances(st node.LRPStatus) instanceCounts {
	var s instanceCounts
	for _, in := range st.Instances {
		if in.Presence != model.PresenceOrdinary || in.Index >= st.Desired.Instances {
			continue
		}
		switch {
		case in.State == model.StateRunning:
			s.running++
		case in.State == model.StateCrashed:
			s.crashed++
		case in.State == model.StateUnclaimed && in.PlacementError != "":
			s.unplaced++
			s.placementError = in.PlacementError
		default:
			s.starting++
		}
	}
	return s
}
