package main

import (
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/spf13/cobra"
)

func newCellsCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "cells",
		Short: "List cells with capacity and allocation",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(); err != nil {
				return err
			}
			c, err := client()
			if err != nil {
				return err
			}
			cells, err := c.Cells(cmd.Context())
			if err != nil {
				return err
			}
			if jsonOutput() {
				return printJSON(os.Stdout, cells)
			}
			tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "CELL\tSTATE\tZONE\tMEMORY (USED/TOTAL)\tDISK (USED/TOTAL)\tCONTAINERS")
			for _, cl := range cells {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%d/%d MB\t%d/%d MB\t%d/%d\n", cl.CellID, cl.State, cl.Zone,
					cl.Allocated.MemoryMB, cl.Capacity.MemoryMB, cl.Allocated.DiskMB, cl.Capacity.DiskMB,
					cl.Allocated.Containers, cl.Capacity.Containers)
			}
			return tw.Flush()
		},
	}
}

func newMembersCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "members",
		Short: "List Raft and gossip membership",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(); err != nil {
				return err
			}
			c, err := client()
			if err != nil {
				return err
			}
			ms, err := c.Members(cmd.Context())
			if err != nil {
				return err
			}
			if jsonOutput() {
				return printJSON(os.Stdout, ms)
			}
			tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NODE\tADDRESS\tRAFT\tGOSSIP\tLAST CONTACT")
			for _, m := range ms {
				lc := m.LastContact
				if lc == "" {
					lc = "-"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", m.Node, m.Address, m.Raft, m.Gossip, lc)
			}
			return tw.Flush()
		},
	}
}

func newRoutesCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "routes",
		Short: "List the router's table: hostnames and their backends",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(); err != nil {
				return err
			}
			c, err := client()
			if err != nil {
				return err
			}
			routes, err := c.Routes(cmd.Context())
			if err != nil {
				return err
			}
			if jsonOutput() {
				return printJSON(os.Stdout, routes)
			}
			tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "HOST\tPROCESS_GUID\tINDEX\tPRESENCE\tBACKEND")
			for _, r := range routes {
				for _, ep := range r.Endpoints {
					fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", r.Host, ep.ProcessGUID, ep.Index, ep.Presence, ep.Address)
				}
			}
			return tw.Flush()
		},
	}
}
