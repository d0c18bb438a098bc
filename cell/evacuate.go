package cell

import (
	"context"

	"github.com/diegod/diegod/model"
)

// CellStateSource is an optional interface of an AssignmentSource: the
// state of the cell's own record in the store. A source that implements it
// lets the cell evacuate when its record is DRAINING.
type CellStateSource interface {
	// CellState returns the state of cellID's record; ok is false when the
	// store has no record for it.
	CellState(cellID string) (state model.CellState, ok bool)
}

// evacuate moves the cell's work away while its record is DRAINING (spec
// §6.6, make-before-break). Each RUNNING ORDINARY row held by an active
// instance is reported with EvacuateRunningActualLRP: the store keeps the
// instance as an EVACUATING copy (still routed) and auctions a replacement
// on another cell; once the replacement runs the store deletes the copy and
// Diff stops the container. Each CLAIMED ORDINARY row (not serving yet) is
// simply unclaimed, and Diff stops its container. Nothing is reported for
// EVACUATING or SUSPECT rows. Reports go through reportOnce, so a row is
// reported at most once at a time.
func (c *Cell) evacuate(ctx context.Context, a Assignment) {
	cs, ok := c.src.(CellStateSource)
	if !ok {
		return
	}
	if st, ok := cs.CellState(c.cfg.CellID); !ok || st != model.CellDraining {
		return
	}
	held := c.observed()
	c.evacuated.Range(func(k, _ any) bool {
		if _, ok := held[k.(string)]; !ok {
			c.evacuated.Delete(k)
		}
		return true
	})
	for _, plan := range EvacuationPlan(a.Rows, held, c.cfg.CellID) {
		// A view older than the store's answer still shows the row as it
		// was: report each version of a row once.
		guid := plan.InstanceKey.InstanceGUID
		if last, ok := c.evacuated.Load(guid); ok && last.(model.ModificationTag) == plan.Tag {
			continue
		}
		c.evacuated.Store(guid, plan.Tag)
		c.reportOnce(ctx, guid, plan.Command)
	}
}

// Evacuation is one report a draining cell sends.
type Evacuation struct {
	InstanceKey model.ActualLRPInstanceKey
	Command     model.Command
	// Tag is the row's modification tag when the plan was made.
	Tag model.ModificationTag
}

// EvacuationPlan returns what a draining cell reports for its rows: an
// EvacuateRunningActualLRP per RUNNING ORDINARY row and an UnclaimActualLRP
// per CLAIMED ORDINARY row, each only for rows whose instance the cell
// holds and that is active (a row without a container is Diff's business).
// It is pure; rows come out in the order given.
func EvacuationPlan(rows []model.ActualLRP, observed map[string]Observed, cellID string) []Evacuation {
	var out []Evacuation
	for _, r := range rows {
		if r.Presence != model.PresenceOrdinary || r.CellID != cellID || r.InstanceGUID == "" {
			continue
		}
		if o, ok := observed[r.InstanceGUID]; !ok || o.Phase != PhaseActive || !sameKey(o.Key, r.ActualLRPKey) {
			continue
		}
		switch r.State {
		case model.StateRunning:
			out = append(out, Evacuation{r.ActualLRPInstanceKey,
				model.EvacuateRunningActualLRP{Key: r.ActualLRPKey, InstanceKey: r.ActualLRPInstanceKey}, r.ModificationTag})
		case model.StateClaimed:
			out = append(out, Evacuation{r.ActualLRPInstanceKey,
				model.UnclaimActualLRP{Key: r.ActualLRPKey, InstanceKey: r.ActualLRPInstanceKey}, r.ModificationTag})
		}
	}
	return out
}
