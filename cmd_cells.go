package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/diegod/diegod/node"
	"github.com/diegod/diegod/routing"
)

func newCellsCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "cells",
		Short: "List cells with capacity and allocation",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return listing(cmd, (*node.Client).Cells, func(cells []node.CellStatus) error {
				tw := newTable("CELL\tSTATE\tZONE\tMEMORY (USED/TOTAL)\tDISK (USED/TOTAL)\tCONTAINERS")
				for _, cl := range cells {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%d/%d MB\t%d/%d MB\t%d/%d\n", cl.CellID, cl.State, cl.Zone,
						cl.Allocated.MemoryMB, cl.Capacity.MemoryMB, cl.Allocated.DiskMB, cl.Capacity.DiskMB,
						cl.Allocated.Containers, cl.Capacity.Containers)
				}
				return tw.Flush()
			})
		},
	}
}

func newMembersCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "members",
		Short: "List Raft and gossip membership",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return listing(cmd, (*node.Client).Members, func(ms []node.Member) error {
				tw := newTable("NODE\tADDRESS\tRAFT\tGOSSIP\tLAST CONTACT")
				for _, m := range ms {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", m.Node, m.Address, m.Raft, m.Gossip, orDash(m.LastContact))
				}
				return tw.Flush()
			})
		},
	}
}

func newRoutesCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "routes",
		Short: "List the router's table: hostnames and their backends",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return listing(cmd, (*node.Client).Routes, func(routes []routing.Route) error {
				tw := newTable("HOST\tPROCESS_GUID\tINDEX\tPRESENCE\tBACKEND")
				for _, r := range routes {
					for _, ep := range r.Endpoints {
						fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", r.Host, ep.ProcessGUID, ep.Index, ep.Presence, ep.Address)
					}
				}
				return tw.Flush()
			})
		},
	}
}
