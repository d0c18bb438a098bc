package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/rs/zerolog"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/diegod/diegod/node"
)

func newAgentCmd() *cobra.Command {
	cfg := node.DefaultConfig()
	var logLevel string
	var runtimeSet bool
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "Run a diegod node (Raft member, cell and router)",
		Long: `Run a diegod node. With --dev: one node, everything on 127.0.0.1, state in a
temporary directory unless --data-dir is given. The node writes
<data-dir>/context.json and ~/.diegod/context.json so the other commands find it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			runtimeSet = cmd.Flags().Changed("runtime")
			log, err := newLogger(logLevel)
			if err != nil {
				return err
			}
			if err := prepareAgentConfig(&cfg, runtimeSet, log); err != nil {
				return err
			}
			n, err := node.New(cfg, log)
			if err != nil {
				return err
			}
			if n.Bootstrapped() && !cfg.Dev {
				fmt.Fprintf(os.Stderr, "diegod: new cluster created. Join other machines with:\n  %s\n", n.JoinCommand())
			}
			return runAgent(n, cfg, log)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&cfg.Dev, "dev", false, "one node, everything on 127.0.0.1, state in a temporary dir unless --data-dir")
	f.StringVar(&cfg.DataDir, "data-dir", "", "state directory (default /var/lib/diegod; a temporary dir with --dev)")
	f.StringVar(&cfg.Bind, "bind", cfg.Bind, "IP address every listener binds to")
	f.IntVar(&cfg.APIPort, "api-port", cfg.APIPort, "API port")
	f.IntVar(&cfg.RaftPort, "raft-port", cfg.RaftPort, "Raft port")
	f.IntVar(&cfg.GossipPort, "gossip-port", cfg.GossipPort, "gossip port (TCP and UDP)")
	f.IntVar(&cfg.RouterPort, "router-port", cfg.RouterPort, "HTTP router port")
	f.StringVar(&cfg.Runtime, "runtime", cfg.Runtime, "container runtime: runc (real containers, needs root) or fake (simulation)")
	f.StringVar(&cfg.Zone, "zone", cfg.Zone, "availability zone of this cell")
	f.StringSliceVar(&cfg.PlacementTags, "placement-tags", nil, "required placement tags of this cell")
	f.StringSliceVar(&cfg.OptionalPlacementTags, "optional-placement-tags", nil, "optional placement tags of this cell")
	f.IntVar(&cfg.MemoryMB, "memory-mb", 0, "memory the cell offers (default: the machine's)")
	f.IntVar(&cfg.DiskMB, "disk-mb", 0, "disk the cell offers (default: free space of the data dir)")
	f.IntVar(&cfg.MaxContainers, "max-containers", 0, "containers the cell runs at most (default 250)")
	f.StringVar(&cfg.NodeName, "node-name", "", "node name and cell id (default: the hostname)")
	f.DurationVar(&cfg.ConvergeInterval, "converge-interval", cfg.ConvergeInterval, "period of the full convergence pass")
	f.DurationVar(&cfg.StopGrace, "stop-grace", cfg.StopGrace, "time between SIGTERM and SIGKILL when stopping an instance")
	f.StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn, error")
	f.StringVar(&cfg.Join, "join", "", "API address (host:port) of a member to join on first start")
	f.StringVar(&cfg.JoinToken, "token", "", "join token, as printed by \"diegod token\" on a member (with --join)")
	f.IntVar(&cfg.MaxVoters, "max-voters", cfg.MaxVoters, "Raft voters the cluster keeps; further members are non-voters")
	f.DurationVar(&cfg.CellLostGrace, "cell-lost-grace", cfg.CellLostGrace, "how long a member is dead in gossip before its cell is marked lost")
	f.DurationVar(&cfg.DeadServerTimeout, "dead-server-timeout", cfg.DeadServerTimeout, "how long a Raft member is dead before it is removed (0: only by \"diegod members remove\")")
	f.DurationVar(&cfg.DrainTimeout, "drain-timeout", cfg.DrainTimeout, "limit of the evacuation on SIGTERM")
	f.DurationVar(&cfg.JoinTimeout, "join-timeout", cfg.JoinTimeout, "limit of the join handshake, retries included")
	return cmd
}

// runAgent runs the node until a signal. SIGINT (Ctrl-C) stops it at once:
// its instances stop and the cluster sees the node fail. SIGTERM is the
// graceful leave: hand over leadership, evacuate the instances
// make-before-break (up to --drain-timeout), leave gossip, then stop. A
// second signal cuts the leave short.
func runAgent(n *node.Node, cfg node.Config, log zerolog.Logger) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	select {
	case err := <-done:
		return err
	case s := <-sigs:
		if s == syscall.SIGTERM {
			log.Info().Msg("SIGTERM: leaving the cluster gracefully")
			lctx, lcancel := context.WithTimeout(ctx, cfg.DrainTimeout+30*time.Second)
			go func() {
				select {
				case <-sigs:
					lcancel()
				case <-lctx.Done():
				}
			}()
			if err := n.Leave(lctx); err != nil {
				log.Warn().Err(err).Msg("graceful leave incomplete")
			}
			lcancel()
		}
	}
	cancel()
	return <-done
}

var nonGUID = regexp.MustCompile(`[^a-zA-Z0-9_-]+`)

// prepareAgentConfig fills in the defaults that depend on the machine.
func prepareAgentConfig(cfg *node.Config, runtimeSet bool, log zerolog.Logger) error {
	if cfg.NodeName == "" {
		h, err := os.Hostname()
		if err != nil || h == "" {
			h = "node"
		}
		cfg.NodeName = strings.Trim(nonGUID.ReplaceAllString(h, "-"), "-")
	}
	if cfg.Dev {
		cfg.Bind = "127.0.0.1"
		if cfg.DataDir == "" {
			d, err := os.MkdirTemp("", "diegod-dev-")
			if err != nil {
				return err
			}
			cfg.DataDir = d
		}
	}
	if cfg.DataDir == "" {
		cfg.DataDir = "/var/lib/diegod"
	}
	if home, err := os.UserHomeDir(); err == nil {
		cfg.UserContextDir = filepath.Join(home, ".diegod")
	}
	if cfg.Runtime == node.RuntimeRunc && os.Geteuid() != 0 {
		if runtimeSet || !cfg.Dev {
			return fmt.Errorf("the runc runtime needs root: run as root, or pass --runtime fake to simulate containers")
		}
		log.Warn().Msg("not root: --dev falls back to the fake runtime (no real containers)")
		cfg.Runtime = node.RuntimeFake
	}
	return cfg.Validate()
}

func newLogger(level string) (zerolog.Logger, error) {
	lvl, err := zerolog.ParseLevel(level)
	if err != nil || level == "" {
		return zerolog.Logger{}, fmt.Errorf("log level: %q is not debug, info, warn or error", level)
	}
	var log zerolog.Logger
	if term.IsTerminal(int(os.Stderr.Fd())) {
		log = zerolog.New(zerolog.ConsoleWriter{Out: os.Stderr, TimeFormat: time.TimeOnly})
	} else {
		log = zerolog.New(os.Stderr)
	}
	return log.Level(lvl).With().Timestamp().Logger(), nil
}

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		Run:   func(cmd *cobra.Command, args []string) { fmt.Println("diegod", version) },
	}
}
