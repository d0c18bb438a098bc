package celltest

import "github.com/diegod/diegod/model"

// SetTasks replaces the tasks; it returns the new index. Assignments hand a
// cell the RUNNING tasks whose cell_id is the cell.
func (s *FakeSource) SetTasks(tasks ...model.Task) uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tasks = append([]model.Task(nil), tasks...)
	return s.bumpLocked()
}

// tasksOfLocked returns the RUNNING tasks of cellID; the caller holds s.mu.
func (s *FakeSource) tasksOfLocked(cellID string) []model.Task {
	var out []model.Task
	for _, t := range s.tasks {
		if t.State == model.TaskRunning && t.CellID == cellID {
			out = append(out, t)
		}
	}
	return out
}
