package cell

import (
	"sort"

	"github.com/diegod/diegod/model"
)

// Phase is where an instance the cell holds is in its life.
type Phase int

// The phases of an observed instance.
const (
	// PhaseActive: the container is being created, runs or is being
	// adopted.
	PhaseActive Phase = iota
	// PhaseStopping: a stop was requested; the container is going away.
	PhaseStopping
	// PhaseFinished: the instance ended (crashed, or its start was refused)
	// and its container is gone or going. The cell remembers it so that a
	// stale view still showing its row never starts it again; it is
	// forgotten once its row no longer names it.
	PhaseFinished
)

// Observed is what the cell knows of one instance it holds, keyed by
// instance guid in Diff's input.
type Observed struct {
	Key          model.ActualLRPKey
	InstanceGUID string
	Phase        Phase
}

// ActionKind names what the cell must do.
type ActionKind string

// The action kinds Diff returns.
const (
	// ActionStart: create a container for a CLAIMED row and run it.
	ActionStart ActionKind = "start"
	// ActionStop: stop and destroy a container whose row is gone or now
	// names another instance. Nothing is reported.
	ActionStop ActionKind = "stop"
	// ActionUnclaim: report UnclaimActualLRP for an ORDINARY row this cell
	// holds without a container (it restarted without it).
	ActionUnclaim ActionKind = "unclaim"
	// ActionRemove: report RemoveActualLRP for an EVACUATING or SUSPECT
	// row this cell holds without a container.
	ActionRemove ActionKind = "remove"
	// ActionForget: drop a finished instance from memory.
	ActionForget ActionKind = "forget"
)

// Action is one step of the plan Diff returns.
type Action struct {
	Kind        ActionKind
	Key         model.ActualLRPKey
	InstanceKey model.ActualLRPInstanceKey
	// Row is the assigned row (start, unclaim, remove).
	Row model.ActualLRP
	// Desired is the LRP to run (start only).
	Desired model.DesiredLRP
}

// Diff compares the rows assigned to cellID with the instances the cell
// holds and returns what to do, in a deterministic order: starts, unclaims
// and removes by (process guid, index, presence), then stops and forgets by
// instance guid. It is pure.
//
// Rules:
//   - a CLAIMED ORDINARY row with no instance → start (if its DesiredLRP is
//     known; otherwise nothing until it is);
//   - a RUNNING ORDINARY row with no instance → unclaim, so it is
//     re-auctioned; a CLAIMED or RUNNING row of another presence with no
//     instance → remove;
//   - an active instance that no placed row of this cell names (the row is
//     gone, or holds another instance key) → stop;
//   - a finished instance that no row names → forget;
//   - anything else (running instances, stopping ones) is left alone.
func Diff(assigned []model.ActualLRP, desired map[string]model.DesiredLRP, observed map[string]Observed, cellID string) []Action {
	rows := make([]model.ActualLRP, 0, len(assigned))
	named := map[string]bool{} // instance guids that placed rows of this cell name
	for _, r := range assigned {
		if r.CellID != cellID || r.InstanceGUID == "" || !r.IsPlaced() {
			continue
		}
		rows = append(rows, r)
		if o, ok := observed[r.InstanceGUID]; !ok || sameKey(o.Key, r.ActualLRPKey) {
			named[r.InstanceGUID] = true
		}
	}
	sort.Slice(rows, func(i, j int) bool {
		a, b := rows[i], rows[j]
		if a.ProcessGUID != b.ProcessGUID {
			return a.ProcessGUID < b.ProcessGUID
		}
		if a.Index != b.Index {
			return a.Index < b.Index
		}
		return a.Presence < b.Presence
	})

	var plan []Action
	planned := map[string]bool{}
	for _, r := range rows {
		if _, held := observed[r.InstanceGUID]; held || planned[r.InstanceGUID] {
			continue
		}
		act := Action{Key: r.ActualLRPKey, InstanceKey: r.ActualLRPInstanceKey, Row: r}
		switch {
		case r.Presence != model.PresenceOrdinary:
			act.Kind = ActionRemove
		case r.State == model.StateClaimed:
			d, ok := desired[r.ProcessGUID]
			if !ok {
				continue
			}
			act.Kind, act.Desired = ActionStart, d
		default: // RUNNING
			act.Kind = ActionUnclaim
		}
		planned[r.InstanceGUID] = true
		plan = append(plan, act)
	}

	guids := make([]string, 0, len(observed))
	for g := range observed {
		guids = append(guids, g)
	}
	sort.Strings(guids)
	for _, g := range guids {
		o := observed[g]
		if named[g] {
			continue
		}
		ik := model.ActualLRPInstanceKey{InstanceGUID: g, CellID: cellID}
		switch o.Phase {
		case PhaseActive:
			plan = append(plan, Action{Kind: ActionStop, Key: o.Key, InstanceKey: ik})
		case PhaseFinished:
			plan = append(plan, Action{Kind: ActionForget, Key: o.Key, InstanceKey: ik})
		}
	}
	return plan
}

func sameKey(a, b model.ActualLRPKey) bool {
	return a.ProcessGUID == b.ProcessGUID && a.Index == b.Index
}
