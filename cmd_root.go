package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/diegod/diegod/node"
)

// globalFlags are the flags every client command takes.
type globalFlags struct {
	addr    string
	token   string
	cacert  string
	dataDir string
	output  string
}

var globals globalFlags

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "diegod",
		Short:         "Diego's container scheduler as one binary",
		Long:          "diegod runs app instances in containers across a small cluster: `diegod agent` on every machine, `diegod submit app.yaml` to run an app.",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	pf := root.PersistentFlags()
	pf.StringVar(&globals.addr, "addr", "", "API address of a node (env DIEGOD_ADDR; default: the local node's context)")
	pf.StringVar(&globals.token, "token", "", "operator token (env DIEGOD_TOKEN)")
	pf.StringVar(&globals.cacert, "cacert", "", "cluster CA certificate file (env DIEGOD_CACERT)")
	pf.StringVar(&globals.dataDir, "data-dir", "", "use the context.json of the agent with this data dir (env DIEGOD_DATA_DIR)")
	pf.StringVarP(&globals.output, "output", "o", "table", "output format: table or json")
	members := newMembersCmd()
	members.AddCommand(newMembersRemoveCmd())
	root.AddCommand(newAgentCmd(), newSubmitCmd(), newPsCmd(), newStatusCmd(), newScaleCmd(),
		newDeleteCmd(), newCellsCmd(), members, newRoutesCmd(), newLogsCmd(), newVersionCmd(),
		newTokenCmd(), newDrainCmd(), newSnapshotCmd(), newTaskCmd())
	return root
}

// client builds an API client from, first found: flags, DIEGOD_ADDR /
// DIEGOD_TOKEN / DIEGOD_CACERT, the context of --data-dir / DIEGOD_DATA_DIR,
// ~/.diegod/context.json, /var/lib/diegod/context.json.
func client() (*node.Client, error) {
	addr, token, caFile := globals.addr, globals.token, globals.cacert
	if addr == "" {
		addr = os.Getenv("DIEGOD_ADDR")
	}
	if token == "" {
		token = os.Getenv("DIEGOD_TOKEN")
	}
	if caFile == "" {
		caFile = os.Getenv("DIEGOD_CACERT")
	}
	var ca []byte
	if caFile != "" {
		data, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("ca certificate: %w", err)
		}
		ca = data
	}
	if addr == "" || token == "" {
		if c, ok := findContext(); ok {
			if addr == "" {
				addr = c.APIAddr
				if len(ca) == 0 {
					ca = []byte(c.CACert)
				}
			}
			if token == "" {
				token = c.Token
			}
		}
	}
	if addr == "" {
		addr = fmt.Sprintf("127.0.0.1:%d", node.DefaultAPIPort)
	}
	return node.NewClient(addr, token, ca)
}

func findContext() (node.CLIContext, bool) {
	var dirs []string
	if globals.dataDir != "" {
		dirs = append(dirs, globals.dataDir)
	}
	if d := os.Getenv("DIEGOD_DATA_DIR"); d != "" {
		dirs = append(dirs, d)
	}
	if home, err := os.UserHomeDir(); err == nil {
		dirs = append(dirs, filepath.Join(home, ".diegod"))
	}
	dirs = append(dirs, "/var/lib/diegod")
	for _, d := range dirs {
		if c, err := node.ReadContext(d); err == nil {
			return c, true
		}
	}
	return node.CLIContext{}, false
}

func jsonOutput() bool { return globals.output == "json" }

func checkOutput() error {
	if globals.output != "table" && globals.output != "json" {
		return fmt.Errorf("output: %q is not table or json", globals.output)
	}
	return nil
}

// listing runs a read-only command: it reads a value with fetch from the
// node the CLI finds, then prints it as JSON with -o json, or with table.
func listing[T any](cmd *cobra.Command, fetch func(*node.Client, context.Context) (T, error), table func(T) error) error {
	if err := checkOutput(); err != nil {
		return err
	}
	c, err := client()
	if err != nil {
		return err
	}
	v, err := fetch(c, cmd.Context())
	if err != nil {
		return err
	}
	if jsonOutput() {
		return printJSON(os.Stdout, v)
	}
	return table(v)
}

// newTable returns a tab writer on stdout with header as its first row.
func newTable(header string) *tabwriter.Writer {
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	return tw
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
