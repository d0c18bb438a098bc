package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/diegod/diegod/model"
)

func newLogsCmd() *cobra.Command {
	var follow, recent bool
	cmd := &cobra.Command{
		Use:   "logs GUID",
		Short: "Show an LRP's or a task's app, health, cell and router log lines",
		Long:  "Show the log lines of every instance of an LRP, cf-style: `[APP/PROC/WEB/0] OUT hello`. --recent prints the buffered lines; -f follows new ones (with --recent, both).",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(); err != nil {
				return err
			}
			c, err := client()
			if err != nil {
				return err
			}
			if !follow {
				recent = true
			}
			return c.Logs(cmd.Context(), args[0], follow, recent, func(l model.LogLine) error {
				if jsonOutput() {
					return printJSON(os.Stdout, l)
				}
				_, err := fmt.Printf("%s %s %s\n", l.Time.Local().Format("2006-01-02T15:04:05.00-0700"), l.Prefix(), l.Text)
				return err
			})
		},
	}
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "follow new lines until interrupted")
	cmd.Flags().BoolVar(&recent, "recent", false, "print the buffered recent lines")
	return cmd
}
