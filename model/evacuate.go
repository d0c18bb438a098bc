package model

// EvacuateRunningActualLRP moves a RUNNING instance off a draining cell
// make-before-break (spec §6.6): the ORDINARY row of Key held by
// InstanceKey is copied into an EVACUATING row (same instance key and net
// info, so it stays routed) and the ORDINARY row becomes UNCLAIMED so the
// auction places a replacement on another cell. When the replacement
// reports RUNNING the store deletes the EVACUATING row and the draining
// cell stops the old container.
type EvacuateRunningActualLRP struct {
	Key         ActualLRPKey         `json:"key"`
	InstanceKey ActualLRPInstanceKey `json:"instance_key"`
}

// CommandName implements Command.
func (EvacuateRunningActualLRP) CommandName() string { return "evacuate_running_actual_lrp" }

func (EvacuateRunningActualLRP) command() {}
