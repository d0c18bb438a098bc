package node

import "github.com/diegod/diegod/model"

// LRPSummary is one line of `diegod ps`.
type LRPSummary struct {
	ProcessGUID string   `json:"process_guid"`
	Desired     int      `json:"desired"`
	Running     int      `json:"running"`
	Starting    int      `json:"starting"`
	Crashed     int      `json:"crashed"`
	Unplaced    int      `json:"unplaced"`
	MemoryMB    int      `json:"memory_mb"`
	DiskMB      int      `json:"disk_mb"`
	Routes      []string `json:"routes"`
	// PlacementError is one of the placement errors of its unplaced
	// instances, if any.
	PlacementError string `json:"placement_error,omitempty"`
}

// InstanceStatus is one row of `diegod status`: the ActualLRP plus the
// container metrics the cell last measured (when known).
type InstanceStatus struct {
	model.ActualLRP
	Metrics *InstanceMetrics `json:"metrics,omitempty"`
}

// InstanceMetrics are the container metrics of a running instance.
type InstanceMetrics struct {
	CPUPercent  float64 `json:"cpu_percent"`
	MemoryBytes uint64  `json:"memory_bytes"`
	DiskBytes   uint64  `json:"disk_bytes"`
}

// LRPStatus is `diegod status GUID -o json`.
type LRPStatus struct {
	Desired   model.DesiredLRP `json:"desired"`
	Instances []InstanceStatus `json:"instances"`
	Index     uint64           `json:"index"`
}

// CellStatus is one line of `diegod cells`.
type CellStatus struct {
	model.Cell
	Allocated model.Resources `json:"allocated"`
}

// Member is one line of `diegod members`.
type Member struct {
	Node    string `json:"node"`
	Address string `json:"address"`
	// Raft is leader, voter, nonvoter or none.
	Raft string `json:"raft"`
	// Gossip is alive, suspect, dead or left (none: unknown to gossip).
	Gossip string `json:"gossip"`
	// RaftAddress and GossipAddress are the member's Raft and gossip
	// addresses (Address is its API).
	RaftAddress   string `json:"raft_address,omitempty"`
	GossipAddress string `json:"gossip_address,omitempty"`
	// LastContact is how long ago this node last heard from the member (a
	// gossip probe ack; for the leader, seen from a follower, Raft's last
	// contact), e.g. "120ms"; empty if never.
	LastContact string `json:"last_contact,omitempty"`
}

// ErrorBody is the JSON body of every API error.
type ErrorBody struct {
	Error model.Error `json:"error"`
}

// SubmitResult answers a successful POST /v1/lrps.
type SubmitResult struct {
	ProcessGUID string `json:"process_guid"`
	Index       uint64 `json:"index"`
}
