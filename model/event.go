package model

// EventType names a change published by the store after commit.
type EventType string

// The event types (Diego's names where it has one).
const (
	EventDesiredLRPCreated        EventType = "desired_lrp_created"
	EventDesiredLRPChanged        EventType = "desired_lrp_changed"
	EventDesiredLRPRemoved        EventType = "desired_lrp_removed"
	EventActualLRPInstanceCreated EventType = "actual_lrp_instance_created"
	EventActualLRPInstanceChanged EventType = "actual_lrp_instance_changed"
	EventActualLRPInstanceRemoved EventType = "actual_lrp_instance_removed"
	EventActualLRPCrashed         EventType = "actual_lrp_crashed"
	EventCellChanged              EventType = "cell_changed"
	EventCellRemoved              EventType = "cell_removed"
	EventTaskCreated              EventType = "task_created"
	EventTaskChanged              EventType = "task_changed"
	EventTaskRemoved              EventType = "task_removed"
)

// Event is one committed change. Before is nil for a creation and After is
// nil for a removal; Index is the Raft index that made the change. Consumers
// order changes of one record by ModificationTag.
type Event struct {
	Type          EventType   `json:"type"`
	Index         uint64      `json:"index"`
	DesiredBefore *DesiredLRP `json:"desired_before,omitempty"`
	DesiredAfter  *DesiredLRP `json:"desired_after,omitempty"`
	ActualBefore  *ActualLRP  `json:"actual_before,omitempty"`
	ActualAfter   *ActualLRP  `json:"actual_after,omitempty"`
	CellBefore    *Cell       `json:"cell_before,omitempty"`
	CellAfter     *Cell       `json:"cell_after,omitempty"`
	TaskBefore    *Task       `json:"task_before,omitempty"`
	TaskAfter     *Task       `json:"task_after,omitempty"`
}

// ProcessGUID returns the process guid the event is about, or "".
func (e *Event) ProcessGUID() string {
	switch {
	case e.ActualAfter != nil:
		return e.ActualAfter.ProcessGUID
	case e.ActualBefore != nil:
		return e.ActualBefore.ProcessGUID
	case e.DesiredAfter != nil:
		return e.DesiredAfter.ProcessGUID
	case e.DesiredBefore != nil:
		return e.DesiredBefore.ProcessGUID
	}
	return ""
}

// CellID returns the cell the event touches (before or after), or "".
func (e *Event) CellID() string {
	switch {
	case e.ActualAfter != nil && e.ActualAfter.CellID != "":
		return e.ActualAfter.CellID
	case e.ActualBefore != nil && e.ActualBefore.CellID != "":
		return e.ActualBefore.CellID
	case e.TaskAfter != nil && e.TaskAfter.CellID != "":
		return e.TaskAfter.CellID
	case e.TaskBefore != nil && e.TaskBefore.CellID != "":
		return e.TaskBefore.CellID
	case e.CellAfter != nil:
		return e.CellAfter.CellID
	case e.CellBefore != nil:
		return e.CellBefore.CellID
	}
	return ""
}
