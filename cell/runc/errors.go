package runc

import "errors"

// Sentinel errors a caller may branch on.
var (
	// ErrInvalidConfig is returned by Config.Validate and New.
	ErrInvalidConfig = errors.New("invalid runc runtime config")
	// ErrInvalidSpec is returned by Create for a spec it cannot honour
	// (bad id, too many ports, bad limits).
	ErrInvalidSpec = errors.New("invalid container spec")
	// ErrExists is returned by Create for an id that is already in use.
	ErrExists = errors.New("container already exists")
	// ErrNotFound is returned for an id the runtime does not hold.
	ErrNotFound = errors.New("container not found")
	// ErrRootFSNotSupported is returned by Create for a rootfs kind that
	// is not implemented yet (docker://, droplet:).
	ErrRootFSNotSupported = errors.New("rootfs kind not supported yet")
	// ErrNoAddress is returned when the container subnet is exhausted.
	ErrNoAddress = errors.New("no free container address")
	// ErrNoPort is returned when the host port range is exhausted.
	ErrNoPort = errors.New("no free host port")
	// ErrNotRunning is returned by Adopt when the container's main process
	// is gone, and by Run for a container whose init has exited.
	ErrNotRunning = errors.New("container process not running")
	// ErrUnknownUser is returned by Run for a user that cannot be resolved.
	ErrUnknownUser = errors.New("unknown user")
)
