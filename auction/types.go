package auction

import (
	"strconv"

	"github.com/diegod/diegod/model"
)

// Work is one item to place: an LRP instance (Key set, TaskGUID empty) or a
// Task (TaskGUID set).
type Work struct {
	// Key names the LRP instance; zero for a task.
	Key model.ActualLRPKey
	// TaskGUID names the task; empty for an LRP instance.
	TaskGUID string
	// Resources is what the item reserves. Only MemoryMB and DiskMB are read:
	// every item takes exactly one container, as in Diego.
	Resources model.Resources
	// RootFS is the rootfs the item needs ("host", "docker://...", ...).
	RootFS string
	// PlacementTags are the item's tags D (spec §5.4).
	PlacementTags []string
}

// IsTask reports whether w is a task rather than an LRP instance.
func (w *Work) IsTask() bool { return w.TaskGUID != "" }

// Identifier returns Diego's de-duplication identifier: "process_guid.index"
// for an LRP instance, the task guid for a task.
func (w *Work) Identifier() string {
	if w.IsTask() {
		return w.TaskGUID
	}
	return w.Key.ProcessGUID + "." + strconv.Itoa(w.Key.Index)
}

// CellView is a cell as one auction sees it: the cell record plus what is
// already reserved on it in the snapshot the auction runs on.
type CellView struct {
	model.Cell
	// Allocated is the sum of the resources of the CLAIMED and RUNNING rows
	// on the cell (any presence).
	Allocated model.Resources
	// Instances counts the CLAIMED and RUNNING rows on the cell per
	// process_guid (Diego's locality input). Place does not modify it.
	Instances map[string]int
	// Starting counts the containers that are starting on the cell (CLAIMED
	// rows): Diego's StartingContainerCount.
	Starting int
	// Tasks counts the tasks on the cell.
	Tasks int
}

// Available returns Capacity - Allocated.
func (c *CellView) Available() model.Resources { return c.Capacity.Sub(c.Allocated) }

// Diego's auction weights (spec §5.3, §9).
const (
	// DefaultStartingContainerWeight is added to a cell's score per starting
	// container, so that a burst of starts spreads out.
	DefaultStartingContainerWeight = 0.25
	// DefaultBinPackFirstFitWeight is multiplied by the cell's index; 0
	// disables bin packing.
	DefaultBinPackFirstFitWeight = 0.0
	// DefaultLocalityOffset is added per instance of the same process_guid
	// already on the cell (per task already on the cell, for tasks).
	DefaultLocalityOffset = 1000.0
	// DefaultMaxInFlight is Diego's starting_container_count_maximum: 0 = off.
	DefaultMaxInFlight = 0
)

// Options tune one call of Place. The zero value disables every weight
// (no locality, no starting-container penalty); start from DefaultOptions
// for Diego's behaviour.
type Options struct {
	// StartingContainerWeight is the score added per starting container.
	StartingContainerWeight float64
	// BinPackFirstFitWeight is the score added per position of the cell in
	// cell_id order (Diego uses the BOSH index; 0 = off).
	BinPackFirstFitWeight float64
	// LocalityOffset is the score added per instance of the same process on
	// the cell (per task on the cell, for tasks).
	LocalityOffset float64
	// MaxInFlight caps starting containers across all cells, counting those
	// placed by this call; 0 = no cap.
	MaxInFlight int
	// Seed drives tie breaking: the same input and seed give the same plan.
	Seed int64
}

// DefaultOptions returns Diego's defaults with seed 0.
func DefaultOptions() Options {
	return Options{
		StartingContainerWeight: DefaultStartingContainerWeight,
		BinPackFirstFitWeight:   DefaultBinPackFirstFitWeight,
		LocalityOffset:          DefaultLocalityOffset,
		MaxInFlight:             DefaultMaxInFlight,
	}
}

// Placement is one decision: put the work item on CellID.
type Placement struct {
	// Key is the LRP instance placed (zero for a task).
	Key model.ActualLRPKey
	// TaskGUID is the task placed (empty for an LRP instance).
	TaskGUID string
	// CellID is the winning cell.
	CellID string
}

// FailureCode classifies why an item could not be placed.
type FailureCode string

// The failure codes, most specific first.
const (
	FailureNoCells               FailureCode = "no_cells"
	FailureRootFS                FailureCode = "rootfs_mismatch"
	FailurePlacementTags         FailureCode = "placement_tag_mismatch"
	FailureInsufficientResources FailureCode = "insufficient_resources"
	FailureInFlightLimit         FailureCode = "in_flight_limit"
)

// Diego's placement error texts (spec §5.2, §5.3, §5.1).
const (
	MsgNoCells        = "unable to communicate to compatible cells"
	MsgRootFSMismatch = "found no compatible cell for required rootfs"
	MsgInFlightLimit  = "waiting to start instance: reached in-flight start limit"
)

// Failure explains why an item could not be placed. Detail is Diego's
// placement error text, which becomes the row's placement_error.
type Failure struct {
	Code   FailureCode
	Detail string
}

// Error returns Detail, so a Failure can be used as an error.
func (f Failure) Error() string { return f.Detail }

// PlanFailure is a work item that could not be placed, with the reason.
type PlanFailure struct {
	Work    Work
	Failure Failure
}

// Plan is the result of Place: every distinct work item appears exactly
// once, in Placements or in Failures, in the order it was considered.
type Plan struct {
	Placements []Placement
	Failures   []PlanFailure
}

// Snapshot is one consistent view of the replicated state, as the runner
// reads it from its Source. Index is the Raft index it reflects.
type Snapshot struct {
	Index   uint64
	Desired []model.DesiredLRP
	Actuals []model.ActualLRP
	Cells   []model.Cell
	// Tasks are every task, in any state.
	Tasks []model.Task
}
