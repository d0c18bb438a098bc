package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/diegod/diegod/node"
)

func newDrainCmd() *cobra.Command {
	var timeout time.Duration
	var cancel, detach bool
	cmd := &cobra.Command{
		Use:   "drain [NODE]",
		Short: "Evacuate a node's instances make-before-break without stopping it",
		Long: `Mark the node's cell DRAINING: it takes no new work, and each running
instance is replaced on another cell before its own copy stops (the old copy
keeps serving until the replacement runs). Waits until the cell is empty, up
to --timeout. NODE defaults to the node the CLI talks to. --cancel makes the
cell take work again. Restarting the node also ends the drain.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			name := ""
			if len(args) == 1 {
				name = args[0]
			} else if ctx, ok := findContext(); ok && globals.addr == "" && os.Getenv("DIEGOD_ADDR") == "" {
				name = ctx.Node
			}
			if name == "" {
				return fmt.Errorf("drain: name the node (diegod drain NODE)")
			}
			if _, err := c.Drain(cmd.Context(), name, cancel); err != nil {
				return err
			}
			if cancel {
				fmt.Printf("%s: takes work again\n", name)
				return nil
			}
			if detach {
				fmt.Printf("%s: draining\n", name)
				return nil
			}
			return waitDrained(cmd.Context(), c, name, timeout)
		},
	}
	cmd.Flags().DurationVar(&timeout, "timeout", node.DefaultDrainTimeout, "how long to wait for the cell to empty")
	cmd.Flags().BoolVar(&cancel, "cancel", false, "stop draining: the cell takes work again")
	cmd.Flags().BoolVar(&detach, "detach", false, "return once the drain is requested")
	return cmd
}

// waitDrained polls the cell's allocation until nothing is placed on it.
func waitDrained(ctx context.Context, c *node.Client, name string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	last := -1
	for {
		cells, err := c.Cells(ctx)
		if err != nil {
			return err
		}
		left := -1
		for _, cl := range cells {
			if cl.CellID == name {
				left = cl.Allocated.Containers
			}
		}
		if left < 0 {
			return fmt.Errorf("drain: no cell named %s", name)
		}
		if left == 0 {
			fmt.Printf("%s: drained\n", name)
			return nil
		}
		if left != last {
			fmt.Fprintf(os.Stderr, "%s: %d instances still to move\n", name, left)
			last = left
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("drain %s: %d instances still on the cell after %v (no room elsewhere?)", name, left, timeout)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func newMembersRemoveCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "remove NODE",
		Short: "Remove a dead member from Raft and forget its cell",
		Long: `Remove a member that is down (dead or left in gossip) from the Raft
configuration and forget its cell. Refused while the member is alive, or when
the remaining voters would not keep a quorum of live ones.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			if err := c.RemoveMember(cmd.Context(), args[0]); err != nil {
				return err
			}
			fmt.Printf("%s: removed\n", args[0])
			return nil
		},
	}
}
