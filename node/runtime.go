package node

import (
	"github.com/rs/zerolog"

	"github.com/diegod/diegod/cell"
	"github.com/diegod/diegod/cell/celltest"
)

// newRuntime builds the container runtime the config names.
func newRuntime(cfg Config, log zerolog.Logger) (cell.Runtime, error) {
	switch cfg.Runtime {
	case RuntimeFake:
		return celltest.NewFakeRuntime(), nil
	}
	return newRuncRuntime(cfg, log)
}
