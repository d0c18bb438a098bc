package cell

import (
	"errors"

	"github.com/diegod/diegod/model"
)

// Sentinel errors of package cell.
var (
	// ErrInvalidConfig is wrapped by Config.Validate's errors.
	ErrInvalidConfig = errors.New("invalid cell config")
	// ErrNoContainer is returned for an operation on a container the
	// runtime does not hold.
	ErrNoContainer = errors.New("no such container")
	// ErrContainerExists is returned by Create for an id already in use.
	ErrContainerExists = errors.New("container already exists")
	// ErrFileTooLarge is returned by ResultReader.ReadFile for a file
	// larger than the limit asked.
	ErrFileTooLarge = errors.New("file too large")
)

// permanent reports whether a refused report must not be retried: the
// store rejected it as a business decision (the row moved on).
func permanent(err error) bool {
	switch model.CodeOf(err) {
	case model.CodeInvalidTransition, model.CodeNotFound, model.CodeInvalidRequest,
		model.CodeResourceExists, model.CodeStale, model.CodeUnsupportedCommand,
		model.CodeUnauthorized, model.CodeRequestTooLarge:
		return true
	}
	return false
}

// refused reports whether a refused report means this cell no longer holds
// the instance (so its container must stop).
func refused(err error) bool {
	switch model.CodeOf(err) {
	case model.CodeInvalidTransition, model.CodeNotFound:
		return true
	}
	return false
}
