package routing

import "errors"

// Sentinel errors.
var (
	// ErrInvalidConfig is wrapped by every Config.Validate error.
	ErrInvalidConfig = errors.New("invalid routing config")
	// ErrNoRoute: no route matches the request's host (404).
	ErrNoRoute = errors.New("no route for host")
	// ErrNoEndpoint: the route exists but no instance is RUNNING (503).
	ErrNoEndpoint = errors.New("no healthy backend")
	// ErrAttemptsExhausted: every attempt failed before the app saw the
	// request (502); it wraps the last attempt's error.
	ErrAttemptsExhausted = errors.New("all attempts failed")
)

// Field keys for log lines (house style: stable snake_case keys).
const (
	logKeyComponent    = "component"
	logKeyProcessGUID  = "process_guid"
	logKeyIndex        = "index"
	logKeyInstanceGUID = "instance_guid"
	logKeyHost         = "host"
	logKeyBackend      = "backend"
	logKeyRequestID    = "request_id"
	logKeyAttempt      = "attempt"
	logKeyRoutes       = "routes"
	logKeyEndpoints    = "endpoints"
	logKeyIndexRaft    = "raft_index"
	logKeyDuration     = "duration"
	logKeyAddr         = "addr"
)
