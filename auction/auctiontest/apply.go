package auctiontest

import (
	"time"

	"github.com/diegod/diegod/auction"
	"github.com/diegod/diegod/model"
)

// ApplyCommand applies cmd to the snapshot with a simplified version of the
// store's rules and publishes the events, so that a FakeProposer whose Apply
// is this method makes a runner see its own results. It covers the commands
// the runner proposes plus UpsertCell and SetCellState; capacity is not
// re-checked. Other commands return a CodeUnsupportedCommand error.
func (f *FakeSource) ApplyCommand(cmd model.Command) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := time.Now()
	if f.Now != nil {
		now = f.Now()
	}
	var err error
	f.updateLocked(func(s *auction.Snapshot) []model.Event {
		var evs []model.Event
		evs, err = apply(s, cmd, now)
		return evs
	})
	return err
}

func find(s *auction.Snapshot, key model.ActualLRPKey, p model.Presence) int {
	for i := range s.Actuals {
		a := &s.Actuals[i]
		if a.ProcessGUID == key.ProcessGUID && a.Index == key.Index && a.Presence == p {
			return i
		}
	}
	return -1
}

func changed(before, after model.ActualLRP) model.Event {
	return model.Event{Type: model.EventActualLRPInstanceChanged, ActualBefore: &before, ActualAfter: &after}
}

func removeRow(s *auction.Snapshot, i int) model.Event {
	before := s.Actuals[i]
	s.Actuals = append(s.Actuals[:i], s.Actuals[i+1:]...)
	return model.Event{Type: model.EventActualLRPInstanceRemoved, ActualBefore: &before}
}

func desiredResources(s *auction.Snapshot, guid string) model.Resources {
	for i := range s.Desired {
		if s.Desired[i].ProcessGUID == guid {
			return s.Desired[i].Resources()
		}
	}
	return model.Resources{}
}

func apply(s *auction.Snapshot, cmd model.Command, now time.Time) ([]model.Event, error) {
	var evs []model.Event
	switch c := cmd.(type) {
	case model.ClaimBatch:
		for _, p := range c.Placements {
			i := find(s, p.Key, model.PresenceOrdinary)
			if i < 0 || s.Actuals[i].State != model.StateUnclaimed {
				continue // stale: skipped
			}
			before := s.Actuals[i]
			a := &s.Actuals[i]
			a.State, a.ActualLRPInstanceKey, a.PlacementError, a.Since = model.StateClaimed, p.InstanceKey, "", now
			evs = append(evs, changed(before, *a))
		}
		for _, fl := range c.Failures {
			i := find(s, fl.Key, model.PresenceOrdinary)
			if i < 0 || s.Actuals[i].State != model.StateUnclaimed {
				continue
			}
			before := s.Actuals[i]
			s.Actuals[i].PlacementError, s.Actuals[i].Since = fl.Error, now
			evs = append(evs, changed(before, s.Actuals[i]))
		}
	case model.RetryPlacement:
		for _, k := range c.Keys {
			if i := find(s, k, model.PresenceOrdinary); i >= 0 && s.Actuals[i].State == model.StateUnclaimed {
				before := s.Actuals[i]
				s.Actuals[i].PlacementError, s.Actuals[i].Since = "", now
				evs = append(evs, changed(before, s.Actuals[i]))
			}
		}
	case model.CreateMissingActualLRP:
		if find(s, c.Key, model.PresenceOrdinary) >= 0 {
			return nil, model.Errorf(model.CodeResourceExists, "actual lrp %s exists", c.Key)
		}
		a := model.ActualLRP{ActualLRPKey: c.Key, State: model.StateUnclaimed, Presence: model.PresenceOrdinary,
			Since: now, Resources: desiredResources(s, c.Key.ProcessGUID)}
		s.Actuals = append(s.Actuals, a)
		evs = append(evs, model.Event{Type: model.EventActualLRPInstanceCreated, ActualAfter: &a})
	case model.SuspectActualLRP:
		i := find(s, c.Key, model.PresenceOrdinary)
		if i < 0 || !s.Actuals[i].IsPlaced() || find(s, c.Key, model.PresenceSuspect) >= 0 {
			return nil, model.Errorf(model.CodeInvalidTransition, "cannot suspect %s", c.Key)
		}
		before := s.Actuals[i]
		s.Actuals[i].Presence = model.PresenceSuspect
		evs = append(evs, changed(before, s.Actuals[i]))
		a := model.ActualLRP{ActualLRPKey: before.ActualLRPKey, State: model.StateUnclaimed, Presence: model.PresenceOrdinary,
			Since: now, Resources: before.Resources}
		s.Actuals = append(s.Actuals, a)
		evs = append(evs, model.Event{Type: model.EventActualLRPInstanceCreated, ActualAfter: &a})
	case model.UnclaimActualLRP:
		i := find(s, c.Key, model.PresenceOrdinary)
		if i < 0 || !s.Actuals[i].AllowsTransitionTo(c.Key, model.ActualLRPInstanceKey{}, model.StateUnclaimed) ||
			(s.Actuals[i].State != model.StateCrashed && s.Actuals[i].ActualLRPInstanceKey != c.InstanceKey) {
			return nil, model.Errorf(model.CodeInvalidTransition, "cannot unclaim %s", c.Key)
		}
		before := s.Actuals[i]
		a := &s.Actuals[i]
		a.State, a.ActualLRPInstanceKey, a.ActualLRPNetInfo, a.Since = model.StateUnclaimed, model.ActualLRPInstanceKey{}, model.ActualLRPNetInfo{}, now
		evs = append(evs, changed(before, *a))
	case model.RetireActualLRP:
		i := find(s, c.Key, c.Presence)
		if i < 0 {
			return nil, model.Errorf(model.CodeNotFound, "actual lrp %s not found", c.Key)
		}
		evs = append(evs, removeRow(s, i))
	case model.PromoteSuspectActualLRP:
		si := find(s, c.Key, model.PresenceSuspect)
		if si < 0 {
			return nil, model.Errorf(model.CodeNotFound, "suspect %s not found", c.Key)
		}
		if oi := find(s, c.Key, model.PresenceOrdinary); oi >= 0 {
			evs = append(evs, removeRow(s, oi))
			si = find(s, c.Key, model.PresenceSuspect)
		}
		before := s.Actuals[si]
		s.Actuals[si].Presence = model.PresenceOrdinary
		evs = append(evs, changed(before, s.Actuals[si]))
	case model.UpsertCell:
		after := c.Cell
		for i := range s.Cells {
			if s.Cells[i].CellID == after.CellID {
				before := s.Cells[i]
				s.Cells[i] = after
				return []model.Event{{Type: model.EventCellChanged, CellBefore: &before, CellAfter: &after}}, nil
			}
		}
		s.Cells = append(s.Cells, after)
		evs = append(evs, model.Event{Type: model.EventCellChanged, CellAfter: &after})
	case model.SetCellState:
		for i := range s.Cells {
			if s.Cells[i].CellID == c.CellID {
				before := s.Cells[i]
				s.Cells[i].State, s.Cells[i].Since = c.State, now
				after := s.Cells[i]
				return []model.Event{{Type: model.EventCellChanged, CellBefore: &before, CellAfter: &after}}, nil
			}
		}
		return nil, model.Errorf(model.CodeNotFound, "cell %s not found", c.CellID)
	default:
		if evs, ok, err := applyTask(s, cmd, now); ok {
			return evs, err
		}
		return nil, model.Errorf(model.CodeUnsupportedCommand, "fake store does not apply %s", cmd.CommandName())
	}
	return evs, nil
}
