package node

import (
	"errors"

	"github.com/rs/zerolog"

	"github.com/diegod/diegod/cell"
)

func newRuncRuntime(cfg Config, log zerolog.Logger) (cell.Runtime, error) {
	return nil, errors.New("the runc runtime is not available in this build")
}
