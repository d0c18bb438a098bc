package cell

import (
	"context"
	"io"
	"syscall"
	"time"

	"github.com/diegod/diegod/model"
)

// Container labels every runtime keeps with a container, so an agent that
// restarts can tell what each container was for.
const (
	LabelProcessGUID  = "process_guid"
	LabelIndex        = "index"
	LabelInstanceGUID = "instance_guid"
	LabelKind         = "kind" // "lrp" or "task"
	LabelTaskGUID     = "task_guid"
)

// Limits are the resource limits of one container.
type Limits struct {
	MemoryMB  int
	DiskMB    int
	CPUWeight int
	MaxPids   int
}

// ContainerSpec describes a container to create. ID is unique on the cell
// (the instance guid for an LRP, the task guid for a task).
type ContainerSpec struct {
	ID     string
	Labels map[string]string
	// RootFS is the spec's rootfs ("host" for the host's read-only view).
	RootFS string
	Limits Limits
	// Ports are container ports that need a host port each.
	Ports []uint16
	// Env is added to every process run in the container.
	Env []string
}

// ContainerState is a container's state as the runtime sees it.
type ContainerState string

// The container states.
const (
	ContainerCreated ContainerState = "created" // exists, no process started yet
	ContainerRunning ContainerState = "running" // at least one process runs
	ContainerStopped ContainerState = "stopped" // every process has exited
)

// ContainerInfo is what the runtime reports about a container.
type ContainerInfo struct {
	ID        string
	Labels    map[string]string
	State     ContainerState
	CreatedAt time.Time
	// NetInfo is the host address, the port mappings and the container
	// address, as reported in an ActualLRP.
	NetInfo model.ActualLRPNetInfo
	// ProbeAddrs maps each container port to the "host:port" a health check
	// on this node dials to reach it.
	ProbeAddrs map[uint16]string
}

// ProcessSpec is a process to run in a container.
type ProcessSpec struct {
	Path   string
	Args   []string
	Dir    string
	Env    []string
	User   string
	Nofile uint64
	// Stdout and Stderr receive the process's output; nil discards it. The
	// runtime never blocks the process on a slow writer for long: writers
	// must be fast (the cell's log buffer is).
	Stdout io.Writer
	Stderr io.Writer
}

// ExitStatus is how a process ended.
type ExitStatus struct {
	Code int
	// Signal is the signal that killed the process, 0 if it exited.
	Signal syscall.Signal
	// OOMKilled is true when the container's memory limit killed it.
	OOMKilled bool
}

// Process is a process running in a container.
type Process interface {
	// Signal sends sig to the process.
	Signal(sig syscall.Signal) error
	// Wait blocks until the process exits or ctx ends.
	Wait(ctx context.Context) (ExitStatus, error)
}

// Stats are a container's usage figures.
type Stats struct {
	CPUTime     time.Duration // total CPU time used so far
	MemoryBytes uint64
	MemoryLimit uint64
	DiskBytes   uint64
	DiskLimit   uint64
}

// Runtime is what a cell needs from a container engine. Implementations:
// the libcontainer runtime (cell/runc) and celltest.FakeRuntime.
// All methods are safe for concurrent use.
type Runtime interface {
	// Create makes a container ready to run processes: root filesystem,
	// limits, network and port mappings.
	Create(ctx context.Context, spec ContainerSpec) (ContainerInfo, error)
	// Run starts a process in the container and returns without waiting.
	Run(ctx context.Context, id string, p ProcessSpec) (Process, error)
	// Destroy kills every process of the container and releases all it
	// holds. Destroying a container that does not exist is not an error.
	Destroy(ctx context.Context, id string) error
	// List returns every container the runtime holds, including those an
	// earlier run of the agent created.
	List(ctx context.Context) ([]ContainerInfo, error)
	// Stats returns the container's usage.
	Stats(ctx context.Context, id string) (Stats, error)
}

// Adopter is an optional Runtime ability: reattach to the processes of a
// container created by an earlier run of the agent. Runtimes without it lose
// their containers on restart (the cell then destroys them and re-creates
// the work).
type Adopter interface {
	// Adopt returns the container's running main process, or an error if it
	// cannot be reattached.
	Adopt(ctx context.Context, id string) (Process, error)
}
