package model

import (
	"sort"
	"time"
)

// DefaultMaxContainers is Diego's container limit per cell.
const DefaultMaxContainers = 250

// Resources is an amount of cell capacity.
type Resources struct {
	MemoryMB   int `json:"memory_mb"`
	DiskMB     int `json:"disk_mb"`
	Containers int `json:"containers"`
}

// Add returns r + o.
func (r Resources) Add(o Resources) Resources {
	return Resources{r.MemoryMB + o.MemoryMB, r.DiskMB + o.DiskMB, r.Containers + o.Containers}
}

// Sub returns r - o.
func (r Resources) Sub(o Resources) Resources {
	return Resources{r.MemoryMB - o.MemoryMB, r.DiskMB - o.DiskMB, r.Containers - o.Containers}
}

// Fits reports whether o fits in r.
func (r Resources) Fits(o Resources) bool {
	return o.MemoryMB <= r.MemoryMB && o.DiskMB <= r.DiskMB && o.Containers <= r.Containers
}

// Shortfall names the resources of o that r lacks, in Diego's order.
func (r Resources) Shortfall(o Resources) []string {
	var s []string
	if o.Containers > r.Containers {
		s = append(s, "containers")
	}
	if o.DiskMB > r.DiskMB {
		s = append(s, "disk")
	}
	if o.MemoryMB > r.MemoryMB {
		s = append(s, "memory")
	}
	return s
}

// CellState is a cell's standing in the cluster.
type CellState string

// The cell states. A LOST cell has gone (its node stopped answering); a
// DRAINING cell takes no new work and is being evacuated.
const (
	CellAlive    CellState = "ALIVE"
	CellDraining CellState = "DRAINING"
	CellLost     CellState = "LOST"
)

// Cell is a node's executor as the scheduler sees it (Diego's CellPresence).
type Cell struct {
	CellID                string    `json:"cell_id"`
	Address               string    `json:"address,omitempty"`
	Zone                  string    `json:"zone"`
	Capacity              Resources `json:"capacity"`
	PlacementTags         []string  `json:"placement_tags,omitempty"`
	OptionalPlacementTags []string  `json:"optional_placement_tags,omitempty"`
	// RootFSProviders lists the rootfs kinds the cell can run: "host",
	// "docker", "preloaded:NAME", "droplet".
	RootFSProviders []string  `json:"rootfs_providers,omitempty"`
	State           CellState `json:"state"`
	Since           time.Time `json:"since"`
}

// Validate checks a cell record.
func (c *Cell) Validate() error {
	v := &ValidationError{}
	if !ValidGUID(c.CellID) {
		v.add("cell_id: %q must match ^[a-zA-Z0-9_-]+$", c.CellID)
	}
	if c.Capacity.MemoryMB < 0 || c.Capacity.DiskMB < 0 || c.Capacity.Containers < 0 {
		v.add("capacity: negative")
	}
	switch c.State {
	case CellAlive, CellDraining, CellLost:
	default:
		v.add("state: %q is unknown", c.State)
	}
	return v.orNil()
}

// Schedulable reports whether the auction may place new work on the cell.
func (c *Cell) Schedulable() bool { return c.State == CellAlive }

// Present reports whether the cell is in the cell set (not lost).
func (c *Cell) Present() bool { return c.State != CellLost }

// SupportsRootFS reports whether the cell can run rootfs.
func (c *Cell) SupportsRootFS(rootfs string) bool {
	kind := RootFSKind(rootfs)
	for _, p := range c.RootFSProviders {
		if p == kind || p == rootfs {
			return true
		}
	}
	return false
}

// RootFSKind returns the provider a rootfs needs: "host", "docker",
// "droplet" or the rootfs itself for preloaded ones.
func RootFSKind(rootfs string) string {
	switch {
	case rootfs == "" || rootfs == DefaultRootFS:
		return DefaultRootFS
	case len(rootfs) > 9 && rootfs[:9] == "docker://":
		return "docker"
	case len(rootfs) > 8 && rootfs[:8] == "droplet:":
		return "droplet"
	}
	return rootfs
}

// MatchesPlacementTags implements Diego's rule R ⊆ D ⊆ R∪O (spec §5.4).
func (c *Cell) MatchesPlacementTags(desired []string) bool {
	d := map[string]bool{}
	for _, t := range desired {
		d[t] = true
	}
	allowed := map[string]bool{}
	for _, t := range c.PlacementTags {
		if !d[t] {
			return false
		}
		allowed[t] = true
	}
	for _, t := range c.OptionalPlacementTags {
		allowed[t] = true
	}
	for t := range d {
		if !allowed[t] {
			return false
		}
	}
	return true
}

// SortedStrings returns a sorted copy of s.
func SortedStrings(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}
