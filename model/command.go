package model

// Command is one entry of the closed catalogue of state changes. Only the
// types in this file implement it; raftstore gives each a CommandType byte and
// one apply handler. Handlers read the time from the log entry (stamped by
// the proposer), never from a clock, so replay is deterministic.
type Command interface {
	// CommandName is a stable lower-case name for logs and metrics.
	CommandName() string
	command()
}

// DesireLRP stores a new DesiredLRP and creates UNCLAIMED rows for indices
// 0..instances-1. A duplicate process guid is refused with CodeResourceExists.
type DesireLRP struct {
	LRP DesiredLRP `json:"lrp"`
}

// UpdateDesiredLRP changes instances, routes or annotation. Scaling up creates
// UNCLAIMED rows; scaling down deletes the rows of indices >= instances (a
// cell stops the containers whose rows are gone).
type UpdateDesiredLRP struct {
	ProcessGUID string           `json:"process_guid"`
	Update      DesiredLRPUpdate `json:"update"`
}

// RemoveDesiredLRP deletes a DesiredLRP and all its rows.
type RemoveDesiredLRP struct {
	ProcessGUID string `json:"process_guid"`
}

// Placement is one auction decision: put Key on InstanceKey.CellID under a
// fresh instance guid.
type Placement struct {
	Key         ActualLRPKey         `json:"key"`
	InstanceKey ActualLRPInstanceKey `json:"instance_key"`
}

// PlacementFailure is an auction decision that Key cannot be placed now.
type PlacementFailure struct {
	Key   ActualLRPKey `json:"key"`
	Error string       `json:"error"`
}

// ClaimBatch applies one auction's plan. Each placement moves an UNCLAIMED
// row to CLAIMED on the chosen cell if the row is still UNCLAIMED and the
// cell still has room; stale placements are skipped, not failed. Each
// failure sets the placement error of a still-UNCLAIMED row.
type ClaimBatch struct {
	SnapshotIndex uint64             `json:"snapshot_index"`
	Placements    []Placement        `json:"placements,omitempty"`
	Failures      []PlacementFailure `json:"failures,omitempty"`
}

// StartActualLRP reports that an instance runs and is healthy (an upsert,
// as in Diego; a no-op when nothing changed).
type StartActualLRP struct {
	Key         ActualLRPKey         `json:"key"`
	InstanceKey ActualLRPInstanceKey `json:"instance_key"`
	NetInfo     ActualLRPNetInfo     `json:"net_info"`
}

// CrashActualLRP reports that an instance exited or failed its health check.
// The store applies the restart policy (spec §4).
type CrashActualLRP struct {
	Key         ActualLRPKey         `json:"key"`
	InstanceKey ActualLRPInstanceKey `json:"instance_key"`
	Reason      string               `json:"reason"`
}

// RemoveActualLRP deletes the row of Key that InstanceKey holds, in any
// presence. A cell sends it when a container stopped on purpose.
type RemoveActualLRP struct {
	Key         ActualLRPKey         `json:"key"`
	InstanceKey ActualLRPInstanceKey `json:"instance_key"`
}

// UnclaimActualLRP returns the ORDINARY row of Key to UNCLAIMED so it is
// auctioned again: a CRASHED row whose backoff has passed (InstanceKey
// empty), or a CLAIMED/RUNNING row held by InstanceKey whose container is
// gone (a cell restarted without it).
type UnclaimActualLRP struct {
	Key         ActualLRPKey         `json:"key"`
	InstanceKey ActualLRPInstanceKey `json:"instance_key"`
}

// RetireActualLRP deletes the row of Key with Presence (extra index, orphan,
// extra suspect). A cell holding the instance stops its container.
type RetireActualLRP struct {
	Key      ActualLRPKey `json:"key"`
	Presence Presence     `json:"presence"`
}

// CreateMissingActualLRP creates an UNCLAIMED ORDINARY row for an index that
// has none.
type CreateMissingActualLRP struct {
	Key ActualLRPKey `json:"key"`
}

// SuspectActualLRP turns the ORDINARY row of Key on a lost cell into a
// SUSPECT (still routed) and creates an UNCLAIMED ORDINARY replacement.
type SuspectActualLRP struct {
	Key ActualLRPKey `json:"key"`
}

// PromoteSuspectActualLRP deletes the ORDINARY replacement of Key and turns
// the SUSPECT row back into the ORDINARY one (its cell came back).
type PromoteSuspectActualLRP struct {
	Key ActualLRPKey `json:"key"`
}

// RetryPlacement clears the placement error of UNCLAIMED rows so the auction
// takes them again (Diego's stale-UNCLAIMED re-auction).
type RetryPlacement struct {
	Keys []ActualLRPKey `json:"keys"`
}

// UpsertCell registers a cell or refreshes its record.
type UpsertCell struct {
	Cell Cell `json:"cell"`
}

// SetCellState marks a cell ALIVE, DRAINING or LOST.
type SetCellState struct {
	CellID string    `json:"cell_id"`
	State  CellState `json:"state"`
}

// RemoveCell forgets a cell.
type RemoveCell struct {
	CellID string `json:"cell_id"`
}

// CommandName implementations.
func (DesireLRP) CommandName() string               { return "desire_lrp" }
func (UpdateDesiredLRP) CommandName() string        { return "update_desired_lrp" }
func (RemoveDesiredLRP) CommandName() string        { return "remove_desired_lrp" }
func (ClaimBatch) CommandName() string              { return "claim_batch" }
func (StartActualLRP) CommandName() string          { return "start_actual_lrp" }
func (CrashActualLRP) CommandName() string          { return "crash_actual_lrp" }
func (RemoveActualLRP) CommandName() string         { return "remove_actual_lrp" }
func (UnclaimActualLRP) CommandName() string        { return "unclaim_actual_lrp" }
func (RetireActualLRP) CommandName() string         { return "retire_actual_lrp" }
func (CreateMissingActualLRP) CommandName() string  { return "create_missing_actual_lrp" }
func (SuspectActualLRP) CommandName() string        { return "suspect_actual_lrp" }
func (PromoteSuspectActualLRP) CommandName() string { return "promote_suspect_actual_lrp" }
func (RetryPlacement) CommandName() string          { return "retry_placement" }
func (UpsertCell) CommandName() string              { return "upsert_cell" }
func (SetCellState) CommandName() string            { return "set_cell_state" }
func (RemoveCell) CommandName() string              { return "remove_cell" }

func (DesireLRP) command()               {}
func (UpdateDesiredLRP) command()        {}
func (RemoveDesiredLRP) command()        {}
func (ClaimBatch) command()              {}
func (StartActualLRP) command()          {}
func (CrashActualLRP) command()          {}
func (RemoveActualLRP) command()         {}
func (UnclaimActualLRP) command()        {}
func (RetireActualLRP) command()         {}
func (CreateMissingActualLRP) command()  {}
func (SuspectActualLRP) command()        {}
func (PromoteSuspectActualLRP) command() {}
func (RetryPlacement) command()          {}
func (UpsertCell) command()              {}
func (SetCellState) command()            {}
func (RemoveCell) command()              {}
