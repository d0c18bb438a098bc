package containers

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"testing"

	"github.com/rs/zerolog"

	"github.com/diegod/diegod/cell/runc"
	"github.com/diegod/diegod/node"
)

// agentEnv, when set to a JSON node.Config, makes the test binary run as a
// diegod agent (the restart test kills it with SIGKILL).
const agentEnv = "DIEGOD_TEST_AGENT_CONFIG"

func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "init" {
		runc.Init()
	}
	if cfgJSON := os.Getenv(agentEnv); cfgJSON != "" {
		os.Exit(runAgent(cfgJSON))
	}
	os.Exit(m.Run())
}

func runAgent(cfgJSON string) int {
	var cfg node.Config
	if err := json.Unmarshal([]byte(cfgJSON), &cfg); err != nil {
		fmt.Fprintln(os.Stderr, "agent config:", err)
		return 2
	}
	log := zerolog.New(os.Stderr).Level(zerolog.InfoLevel).With().Timestamp().Logger()
	n, err := node.New(cfg, log)
	if err != nil {
		fmt.Fprintln(os.Stderr, "agent:", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := n.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "agent:", err)
		return 1
	}
	return 0
}
