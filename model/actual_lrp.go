package model

import (
	"fmt"
	"time"
)

// ActualLRPState is the state of one instance row (spec §1.2).
type ActualLRPState string

// The ActualLRP states.
const (
	StateUnclaimed ActualLRPState = "UNCLAIMED"
	StateClaimed   ActualLRPState = "CLAIMED"
	StateRunning   ActualLRPState = "RUNNING"
	StateCrashed   ActualLRPState = "CRASHED"
)

// Presence tells the ordinary row of an index from an evacuating copy and
// from a suspect (a row on a cell that has gone).
type Presence string

// The presences.
const (
	PresenceOrdinary   Presence = "ORDINARY"
	PresenceEvacuating Presence = "EVACUATING"
	PresenceSuspect    Presence = "SUSPECT"
)

// ModificationTag orders updates of one record: the epoch is new when the
// record is created, the index goes up on every change.
type ModificationTag struct {
	Epoch string `json:"epoch"`
	Index uint32 `json:"index"`
}

// Increment bumps the index.
func (m *ModificationTag) Increment() { m.Index++ }

// SucceededBy reports whether other is newer than m (spec §1.6).
func (m *ModificationTag) SucceededBy(other *ModificationTag) bool {
	if m == nil || m.Epoch == "" || other.Epoch == "" {
		return true
	}
	return m.Epoch != other.Epoch || m.Index < other.Index
}

// ActualLRPKey names an index of a process.
type ActualLRPKey struct {
	ProcessGUID string `json:"process_guid"`
	Index       int    `json:"index"`
	Domain      string `json:"domain,omitempty"`
}

// String returns "guid/index".
func (k ActualLRPKey) String() string { return fmt.Sprintf("%s/%d", k.ProcessGUID, k.Index) }

// ActualLRPInstanceKey names the container that runs an index.
type ActualLRPInstanceKey struct {
	InstanceGUID string `json:"instance_guid"`
	CellID       string `json:"cell_id"`
}

// Empty reports whether the key is unset.
func (k ActualLRPInstanceKey) Empty() bool { return k.InstanceGUID == "" && k.CellID == "" }

// PortMapping maps a container port to the host port that reaches it.
type PortMapping struct {
	ContainerPort uint16 `json:"container_port"`
	HostPort      uint16 `json:"host_port"`
}

// ActualLRPNetInfo is where an instance can be reached: Address is the cell's
// host address, InstanceAddress the container's own address.
type ActualLRPNetInfo struct {
	Address         string        `json:"address"`
	Ports           []PortMapping `json:"ports"`
	InstanceAddress string        `json:"instance_address"`
}

// Empty reports whether the net info is unset.
func (n ActualLRPNetInfo) Empty() bool {
	return n.Address == "" && len(n.Ports) == 0 && n.InstanceAddress == ""
}

// HostPort returns the host port mapped to containerPort, or 0.
func (n ActualLRPNetInfo) HostPort(containerPort uint16) uint16 {
	for _, p := range n.Ports {
		if p.ContainerPort == containerPort {
			return p.HostPort
		}
	}
	return 0
}

// ActualLRP is one row of an index: its state, where it runs and how it
// crashed. The store keys rows by (process_guid, index, presence).
type ActualLRP struct {
	ActualLRPKey
	ActualLRPInstanceKey
	ActualLRPNetInfo
	State           ActualLRPState  `json:"state"`
	Presence        Presence        `json:"presence"`
	CrashCount      int             `json:"crash_count"`
	CrashReason     string          `json:"crash_reason"`
	PlacementError  string          `json:"placement_error,omitempty"`
	Since           time.Time       `json:"since"`
	ModificationTag ModificationTag `json:"modification_tag"`
	// Resources is what the instance reserves on its cell, copied from the
	// DesiredLRP when the row is created.
	Resources Resources `json:"resources"`
}

// IsPlaced reports whether the row holds a reservation on a cell (CLAIMED or
// RUNNING).
func (a *ActualLRP) IsPlaced() bool { return a.State == StateClaimed || a.State == StateRunning }

// AllowsTransitionTo reports whether the row may move to state under key and
// instKey (Diego's table, spec §1.2). The ActualLRPKey must be the same.
func (a *ActualLRP) AllowsTransitionTo(key ActualLRPKey, instKey ActualLRPInstanceKey, to ActualLRPState) bool {
	if a.ProcessGUID != key.ProcessGUID || a.Index != key.Index {
		return false
	}
	same := a.ActualLRPInstanceKey == instKey
	switch a.State {
	case StateUnclaimed:
		return to == StateUnclaimed || to == StateClaimed || to == StateRunning
	case StateClaimed:
		switch to {
		case StateUnclaimed:
			return instKey.Empty()
		case StateClaimed, StateCrashed:
			return same
		case StateRunning:
			return true
		}
	case StateRunning:
		if to == StateUnclaimed {
			return instKey.Empty()
		}
		return same
	case StateCrashed:
		switch to {
		case StateUnclaimed:
			return instKey.Empty()
		case StateClaimed, StateRunning:
			return same
		}
	}
	return false
}

// Validate checks the per-state invariants of the row (spec §1.2).
func (a *ActualLRP) Validate() error {
	v := &ValidationError{}
	if !ValidGUID(a.ProcessGUID) {
		v.add("process_guid: %q is invalid", a.ProcessGUID)
	}
	if a.Index < 0 {
		v.add("index: %d is negative", a.Index)
	}
	switch a.Presence {
	case PresenceOrdinary, PresenceEvacuating, PresenceSuspect:
	default:
		v.add("presence: %q is unknown", a.Presence)
	}
	switch a.State {
	case StateUnclaimed:
		if !a.ActualLRPInstanceKey.Empty() || !a.ActualLRPNetInfo.Empty() {
			v.add("UNCLAIMED: instance key and net info must be empty")
		}
		if a.Presence != PresenceOrdinary {
			v.add("UNCLAIMED: presence must be ORDINARY")
		}
	case StateClaimed:
		if a.InstanceGUID == "" || a.CellID == "" {
			v.add("CLAIMED: instance key required")
		}
		if !a.ActualLRPNetInfo.Empty() || a.PlacementError != "" {
			v.add("CLAIMED: net info and placement error must be empty")
		}
	case StateRunning:
		if a.InstanceGUID == "" || a.CellID == "" {
			v.add("RUNNING: instance key required")
		}
		if a.Address == "" {
			v.add("RUNNING: address required")
		}
		if a.PlacementError != "" {
			v.add("RUNNING: placement error must be empty")
		}
	case StateCrashed:
		if !a.ActualLRPInstanceKey.Empty() || !a.ActualLRPNetInfo.Empty() || a.PlacementError != "" {
			v.add("CRASHED: instance key, net info and placement error must be empty")
		}
	default:
		v.add("state: %q is unknown", a.State)
	}
	return v.orNil()
}
