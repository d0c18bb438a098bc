package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/diegod/diegod/model"
	"github.com/diegod/diegod/node"
)

func newPsCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "ps",
		Short: "List LRPs with running and desired instance counts",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return listing(cmd, (*node.Client).LRPs, func(lrps []node.LRPSummary) error {
				tw := newTable("PROCESS_GUID\tRUNNING\tSTARTING\tCRASHED\tUNPLACED\tMEMORY\tDISK\tROUTES")
				for _, l := range lrps {
					fmt.Fprintf(tw, "%s\t%d/%d\t%d\t%d\t%d\t%dM\t%dM\t%s\n", l.ProcessGUID, l.Running, l.Desired,
						l.Starting, l.Crashed, l.Unplaced, l.MemoryMB, l.DiskMB, strings.Join(l.Routes, ","))
				}
				return tw.Flush()
			})
		},
	}
}

func newStatusCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "status GUID",
		Short: "Show an LRP and its instance table",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			fetch := func(c *node.Client, ctx context.Context) (node.LRPStatus, error) { return c.Status(ctx, args[0], 0, 0) }
			return listing(cmd, fetch, func(st node.LRPStatus) error {
				printStatus(st)
				return nil
			})
		},
	}
}

func printStatus(st node.LRPStatus) {
	d := st.Desired
	fmt.Printf("process_guid: %s\ninstances:    %d\nresources:    %d MB memory, %d MB disk\nrootfs:       %s\n",
		d.ProcessGUID, d.Instances, d.MemoryMB, d.DiskMB, d.RootFS)
	if len(d.Routes) > 0 {
		fmt.Printf("routes:       %s\n", strings.Join(d.Routes, ", "))
	}
	fmt.Println()
	tw := newTable("INDEX\tSTATE\tCELL\tADDRESS\tSINCE\tCPU\tMEMORY\tCRASHES\tDETAILS")
	now := time.Now()
	for _, in := range st.Instances {
		state := string(in.State)
		if in.Presence != model.PresenceOrdinary {
			state += "/" + string(in.Presence)
		}
		addr := "-"
		if in.Address != "" {
			addr = in.Address
			if len(in.Ports) > 0 {
				addr += ":" + strconv.Itoa(int(in.Ports[0].HostPort))
			}
		}
		cpu, mem := "-", "-"
		if in.Metrics != nil {
			cpu = fmt.Sprintf("%.1f%%", in.Metrics.CPUPercent)
			mem = fmt.Sprintf("%.1fM", float64(in.Metrics.MemoryBytes)/(1<<20))
		}
		details := in.CrashReason
		if in.PlacementError != "" {
			details = in.PlacementError
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s ago\t%s\t%s\t%d\t%s\n", in.Index, state, orDash(in.CellID), addr,
			now.Sub(in.Since).Round(time.Second), cpu, mem, in.CrashCount, details)
	}
	_ = tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func newScaleCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "scale GUID N",
		Short: "Set the number of instances of an LRP",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			n, err := strconv.Atoi(args[1])
			if err != nil || n < 0 {
				return fmt.Errorf("instances: %q is not a whole number >= 0", args[1])
			}
			c, err := client()
			if err != nil {
				return err
			}
			res, err := c.Scale(cmd.Context(), args[0], n)
			if err != nil {
				return err
			}
			if jsonOutput() {
				return printJSON(os.Stdout, res)
			}
			fmt.Printf("%s scaled to %d instances\n", args[0], n)
			return nil
		},
	}
}

func newDeleteCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "delete GUID",
		Short: "Remove an LRP and stop its instances",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			res, err := c.Delete(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if jsonOutput() {
				return printJSON(os.Stdout, res)
			}
			fmt.Printf("%s deleted\n", args[0])
			return nil
		},
	}
}
