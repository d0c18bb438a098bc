package cell

import (
	"context"

	"github.com/diegod/diegod/model"
)

// reattach runs once, at start: it lists the runtime's containers, adopts
// those that belong to a placed row of this cell (when the runtime is an
// Adopter and can reattach to their process) and destroys the others. Rows
// left without a container are then handled by Diff (a CLAIMED row is
// started, a RUNNING row is unclaimed).
func (c *Cell) reattach(ctx, instCtx context.Context, a Assignment) {
	list, err := c.rt.List(ctx)
	if err != nil {
		c.log.Warn().Err(err).Msg("list containers failed")
		return
	}
	adopter, canAdopt := c.rt.(Adopter)
	for _, info := range list {
		guid := info.Labels[LabelInstanceGUID]
		if canAdopt && info.Labels[LabelKind] == LabelKindLRP && info.State == ContainerRunning {
			if row, ok := placedRow(a, c.cfg.CellID, guid); ok {
				if d, ok := a.Desired[row.ProcessGUID]; ok {
					p, err := adopter.Adopt(ctx, info.ID)
					if err == nil {
						c.start(instCtx, row, d, &adoption{info: info, process: p})
						continue
					}
					c.log.Warn().Err(err).Str(logContainerID, info.ID).Msg("adopt container failed")
				}
			}
		}
		c.log.Info().Str(logContainerID, info.ID).Str(logInstanceGUID, guid).Msg("destroying leftover container")
		if err := c.rt.Destroy(ctx, info.ID); err != nil {
			c.log.Warn().Err(err).Str(logContainerID, info.ID).Msg("destroy leftover container failed")
		}
	}
}

// placedRow returns the CLAIMED or RUNNING row of this cell held by guid.
func placedRow(a Assignment, cellID, guid string) (row model.ActualLRP, ok bool) {
	if guid == "" {
		return row, false
	}
	for _, r := range a.Rows {
		if r.CellID == cellID && r.InstanceGUID == guid && r.IsPlaced() {
			return r, true
		}
	}
	return row, false
}
