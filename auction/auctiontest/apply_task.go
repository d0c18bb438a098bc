package auctiontest

import (
	"time"

	"github.com/diegod/diegod/auction"
	"github.com/diegod/diegod/model"
)

func findTask(s *auction.Snapshot, guid string) int {
	for i := range s.Tasks {
		if s.Tasks[i].TaskGUID == guid {
			return i
		}
	}
	return -1
}

func taskChanged(before, after model.Task) model.Event {
	return model.Event{Type: model.EventTaskChanged, TaskBefore: &before, TaskAfter: &after}
}

// applyTask applies the task commands the runner proposes (PlaceTasks and
// the task pass's FailTask, DemoteResolvingTask, ExpireTask) and
// DesireTask, with the model's lifecycle rules; capacity is not
// re-checked. ok is false for any other command.
func applyTask(s *auction.Snapshot, cmd model.Command, now time.Time) (evs []model.Event, ok bool, err error) {
	update := func(guid string, fn func(model.Task) (model.Task, error)) ([]model.Event, bool, error) {
		i := findTask(s, guid)
		if i < 0 {
			return nil, true, model.Errorf(model.CodeNotFound, "task %s not found", guid)
		}
		before := s.Tasks[i]
		after, err := fn(before)
		if err != nil {
			return nil, true, err
		}
		s.Tasks[i] = after
		return []model.Event{taskChanged(before, after)}, true, nil
	}
	switch c := cmd.(type) {
	case model.DesireTask:
		if findTask(s, c.Task.TaskGUID) >= 0 {
			return nil, true, model.Errorf(model.CodeResourceExists, "task %s exists", c.Task.TaskGUID)
		}
		spec := c.Task
		spec.Normalize()
		t := model.NewTask(spec, now)
		s.Tasks = append(s.Tasks, t)
		return []model.Event{{Type: model.EventTaskCreated, TaskAfter: &t}}, true, nil
	case model.PlaceTasks:
		for _, p := range c.Placements {
			i := findTask(s, p.TaskGUID)
			if i < 0 {
				continue // stale: skipped
			}
			before := s.Tasks[i]
			after, changed, err := before.Start(p.CellID, now)
			if err != nil || !changed || before.State != model.TaskPending {
				continue
			}
			s.Tasks[i] = after
			evs = append(evs, taskChanged(before, after))
		}
		for _, f := range c.Failures {
			i := findTask(s, f.TaskGUID)
			if i < 0 || s.Tasks[i].State != model.TaskPending {
				continue
			}
			before := s.Tasks[i]
			after, err := before.Reject("", f.Error, now)
			if err != nil {
				continue
			}
			s.Tasks[i] = after
			evs = append(evs, taskChanged(before, after))
		}
		return evs, true, nil
	case model.FailTask:
		return update(c.TaskGUID, func(t model.Task) (model.Task, error) { return t.Fail(c.CellID, c.Reason, now) })
	case model.DemoteResolvingTask:
		return update(c.TaskGUID, func(t model.Task) (model.Task, error) { return t.Demote(now) })
	case model.ExpireTask:
		i := findTask(s, c.TaskGUID)
		if i < 0 {
			return nil, true, model.Errorf(model.CodeNotFound, "task %s not found", c.TaskGUID)
		}
		if err := s.Tasks[i].CheckExpire(); err != nil {
			return nil, true, err
		}
		before := s.Tasks[i]
		s.Tasks = append(s.Tasks[:i], s.Tasks[i+1:]...)
		return []model.Event{{Type: model.EventTaskRemoved, TaskBefore: &before}}, true, nil
	}
	return nil, false, nil
}
