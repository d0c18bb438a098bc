package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

func newTokenCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Print the join token (stdout) and the join command (stderr)",
		Long: `Print the cluster's join token alone on stdout, so scripts can capture it,
and the full join command on stderr. The token pins the cluster CA's SHA-256
fingerprint and carries the join secret: keep it secret.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			info, err := c.JoinToken(cmd.Context())
			if err != nil {
				return err
			}
			fmt.Println(info.Token)
			fmt.Fprintf(os.Stderr, "join another machine with:\n  %s\n", info.JoinCommand)
			return nil
		},
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "rotate",
		Short: "Replace the join secret (old tokens stop working) and print the new token",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			info, err := c.RotateToken(cmd.Context())
			if err != nil {
				return err
			}
			fmt.Println(info.Token)
			fmt.Fprintf(os.Stderr, "join another machine with:\n  %s\n", info.JoinCommand)
			return nil
		},
	})
	return cmd
}
