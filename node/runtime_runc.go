package node

import (
	"path/filepath"

	"github.com/rs/zerolog"

	"github.com/diegod/diegod/cell"
	"github.com/diegod/diegod/cell/runc"
)

// newRuncRuntime builds the embedded libcontainer runtime: container state
// under <data-dir>/containers, host ports on the node's bind address.
func newRuncRuntime(cfg Config, log zerolog.Logger) (cell.Runtime, error) {
	rcfg := runc.DefaultConfig()
	rcfg.StateDir = filepath.Join(cfg.DataDir, "containers")
	rcfg.HostIP = cfg.Bind
	if cfg.ContainerBridge != "" {
		rcfg.BridgeName = cfg.ContainerBridge
	}
	if cfg.ContainerSubnet != "" {
		rcfg.Subnet = cfg.ContainerSubnet
	}
	if cfg.HostPortStart != 0 {
		rcfg.PortRangeStart, rcfg.PortRangeEnd = cfg.HostPortStart, cfg.HostPortEnd
	}
	return runc.New(rcfg, log)
}
