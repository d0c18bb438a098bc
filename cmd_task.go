package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/diegod/diegod/model"
	"github.com/diegod/diegod/node"
)

// taskLogDrain bounds the wait for a finished task's last log lines (up to
// the cell's "destroyed container" line) before `task run` returns.
const taskLogDrain = 2 * time.Second

func newTaskCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "task",
		Short: "Run and manage one-off tasks",
		Long: `Tasks are one-off work with Diego's lifecycle: PENDING (waiting for a cell), RUNNING,
COMPLETED (failed or not, with the contents of its result_file), RESOLVING (its
completion callback is being delivered), then deleted. A completed task is kept
until it is deleted (task delete, or its completion callback answered), or for
2 minutes.`,
	}
	cmd.AddCommand(newTaskRunCmd(), newTaskStatusCmd(), newTaskListCmd(), newTaskCancelCmd(), newTaskDeleteCmd())
	return cmd
}

func newTaskRunCmd() *cobra.Command {
	var detach bool
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "run FILE",
		Short: "Run the task in FILE (YAML or JSON), stream its logs and print its result",
		Long: `Submit the task in FILE (YAML or JSON; "-" reads standard input), stream its log
lines to standard error while it runs, then print its result (the contents of its
result_file) on standard output; with -o json, print the completed task instead.

Exit status: 0 when the task succeeded, 1 when it failed (the failure reason is
printed), when it could not be submitted, or when --timeout passes.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			spec, err := loadSpec(args[0], node.ParseTaskSpec)
			if err != nil {
				return err
			}
			c, err := client()
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			var logs *taskLogs
			if !detach {
				logs = followTaskLogs(ctx, c, spec.TaskGUID, os.Stderr)
			}
			res, err := c.SubmitTask(ctx, spec)
			if err != nil {
				return err
			}
			if detach {
				if jsonOutput() {
					return printJSON(os.Stdout, res)
				}
				fmt.Printf("%s submitted\n", spec.TaskGUID)
				return nil
			}
			t, err := waitTask(ctx, c, spec.TaskGUID, res.Index)
			logs.drain()
			if err != nil {
				return err
			}
			return printOutcome(t)
		},
	}
	cmd.Flags().BoolVar(&detach, "detach", false, "return as soon as the task is stored")
	cmd.Flags().DurationVar(&timeout, "timeout", time.Hour, "how long to wait for the task to complete")
	return cmd
}

// waitTask follows the task with blocking queries until it has completed.
func waitTask(ctx context.Context, c *node.Client, guid string, index uint64) (model.Task, error) {
	for {
		t, idx, err := c.Task(ctx, guid, index, 10*time.Second)
		switch {
		case errors.Is(err, model.ErrNotFound):
			return t, fmt.Errorf("task %s was deleted before its outcome could be read (its completion callback resolved it)", guid)
		case err != nil && ctx.Err() != nil:
			return t, &exitCodeError{code: exitError, err: fmt.Errorf("task %s: not completed after the timeout", guid)}
		case err != nil:
			return t, err
		case t.IsFinished():
			return t, nil
		}
		index = max(idx, index)
	}
}

// printOutcome prints a completed task and returns the exit status error.
func printOutcome(t model.Task) error {
	if jsonOutput() {
		if err := printJSON(os.Stdout, t); err != nil {
			return err
		}
	} else if !t.Failed && t.Result != "" {
		fmt.Print(t.Result)
		if !strings.HasSuffix(t.Result, "\n") {
			fmt.Println()
		}
	}
	if t.Failed {
		return &exitCodeError{code: exitError, err: fmt.Errorf("task %s failed: %s", t.TaskGUID, t.FailureReason)}
	}
	return nil
}

// taskLogs streams a task's log lines to w until drained.
type taskLogs struct {
	cancel context.CancelFunc
	done   chan struct{}
	last   chan struct{} // closed when the cell's last line for the task arrived
}

// followTaskLogs starts following guid's log lines (recent ones first, so
// nothing written before the stream opened is lost).
func followTaskLogs(ctx context.Context, c *node.Client, guid string, w io.Writer) *taskLogs {
	ctx, cancel := context.WithCancel(ctx)
	l := &taskLogs{cancel: cancel, done: make(chan struct{}), last: make(chan struct{})}
	lastLine := "destroyed container for task " + guid
	go func() {
		defer close(l.done)
		closed := false
		_ = c.Logs(ctx, guid, true, true, func(line model.LogLine) error {
			fmt.Fprintf(w, "%s %s %s\n", line.Time.Local().Format("2006-01-02T15:04:05.00-0700"), line.Prefix(), line.Text)
			if !closed && strings.Contains(line.Text, lastLine) {
				closed = true
				close(l.last)
			}
			return nil
		})
	}()
	return l
}

// drain waits for the task's last log line (at most taskLogDrain), then
// stops following.
func (l *taskLogs) drain() {
	if l == nil {
		return
	}
	t := time.NewTimer(taskLogDrain)
	defer t.Stop()
	select {
	case <-l.last:
	case <-l.done:
	case <-t.C:
	}
	l.cancel()
	<-l.done
}

func newTaskStatusCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "status GUID",
		Short: "Show a task",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			fetch := func(c *node.Client, ctx context.Context) (model.Task, error) {
				t, _, err := c.Task(ctx, args[0], 0, 0)
				return t, err
			}
			return listing(cmd, fetch, func(t model.Task) error {
				printTask(t)
				return nil
			})
		},
	}
}

func printTask(t model.Task) {
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	row := func(k, v string) { fmt.Fprintf(tw, "%s:\t%s\n", k, v) }
	row("task_guid", t.TaskGUID)
	row("state", string(t.State))
	if t.CellID != "" {
		row("cell", t.CellID)
	}
	row("resources", fmt.Sprintf("%d MB memory, %d MB disk", t.MemoryMB, t.DiskMB))
	row("rootfs", t.RootFS)
	row("created", t.CreatedAt.Local().Format(time.RFC3339))
	row("updated", t.UpdatedAt.Local().Format(time.RFC3339))
	if t.IsFinished() {
		row("failed", fmt.Sprint(t.Failed))
		if t.Failed {
			row("failure_reason", t.FailureReason)
		}
		if t.ResultFile != "" && !t.Failed {
			row("result", strings.TrimRight(t.Result, "\n"))
		}
	}
	if t.RejectionCount > 0 {
		row("rejections", fmt.Sprintf("%d (%s)", t.RejectionCount, t.RejectionReason))
	}
	if t.CompletionCallbackURL != "" {
		row("callback", t.CompletionCallbackURL)
	}
	_ = tw.Flush()
}

func newTaskListCmd() *cobra.Command {
	var state string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List tasks",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(); err != nil {
				return err
			}
			var st model.TaskState
			if state != "" {
				var ok bool
				if st, ok = model.ParseTaskState(state); !ok {
					return fmt.Errorf("--state: %q is not PENDING, RUNNING, COMPLETED or RESOLVING", state)
				}
			}
			fetch := func(c *node.Client, ctx context.Context) ([]model.Task, error) { return c.Tasks(ctx, st) }
			return listing(cmd, fetch, func(tasks []model.Task) error {
				tw := newTable("TASK_GUID\tSTATE\tCELL\tAGE\tOUTCOME")
				now := time.Now()
				for _, t := range tasks {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", t.TaskGUID, t.State, orDash(t.CellID),
						now.Sub(t.CreatedAt).Round(time.Second), outcome(t))
				}
				return tw.Flush()
			})
		},
	}
	cmd.Flags().StringVar(&state, "state", "", "only tasks in this state: PENDING, RUNNING, COMPLETED or RESOLVING")
	return cmd
}

// outcome summarises a task's result or failure on one short line.
func outcome(t model.Task) string {
	switch {
	case !t.IsFinished():
		if t.RejectionCount > 0 {
			return fmt.Sprintf("rejected %d times (%s)", t.RejectionCount, short(t.RejectionReason))
		}
		return "-"
	case t.Failed:
		return "failed: " + short(t.FailureReason)
	case t.Result != "":
		return "succeeded: " + short(t.Result)
	}
	return "succeeded"
}

func short(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 60 {
		return s[:57] + "..."
	}
	return s
}

func newTaskCancelCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "cancel GUID",
		Short: "Cancel a PENDING or RUNNING task (it completes as failed \"task was cancelled\")",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return taskWrite(cmd.Context(), args[0], "cancelled", (*node.Client).CancelTask)
		},
	}
}

func newTaskDeleteCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "delete GUID",
		Short: "Delete a completed task (resolve it)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return taskWrite(cmd.Context(), args[0], "deleted", (*node.Client).DeleteTask)
		},
	}
}

// taskWrite runs one task write and prints its outcome.
func taskWrite(ctx context.Context, guid, done string, fn func(*node.Client, context.Context, string) (node.TaskResult, error)) error {
	if err := checkOutput(); err != nil {
		return err
	}
	c, err := client()
	if err != nil {
		return err
	}
	res, err := fn(c, ctx, guid)
	if err != nil {
		return err
	}
	if jsonOutput() {
		return printJSON(os.Stdout, res)
	}
	fmt.Printf("%s %s\n", guid, done)
	return nil
}
