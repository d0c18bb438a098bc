package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

func newSnapshotCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "snapshot",
		Short: "Save or restore the cluster state",
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "save FILE",
		Short: "Write the cluster state (a consistent read) to FILE",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			tmp := args[0] + ".part"
			f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
			if err != nil {
				return err
			}
			err = c.SaveSnapshot(cmd.Context(), f)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				os.Remove(tmp)
				return err
			}
			if err := os.Rename(tmp, args[0]); err != nil {
				return err
			}
			fmt.Printf("saved %s\n", args[0])
			return nil
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "restore FILE",
		Short: "Replace the whole cluster state with the snapshot in FILE",
		Long: `Replace the whole cluster state (LRPs, instances, cells) with a snapshot
written by "diegod snapshot save". The leader installs it and sends it to every
member; cells then converge on the restored assignments.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			f, err := os.Open(args[0])
			if err != nil {
				return err
			}
			defer f.Close()
			if err := c.RestoreSnapshot(cmd.Context(), f); err != nil {
				return err
			}
			fmt.Printf("restored %s\n", args[0])
			return nil
		},
	})
	return cmd
}
