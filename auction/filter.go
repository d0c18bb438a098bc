package auction

import (
	"sort"
	"strings"

	"github.com/diegod/diegod/model"
)

// class is the set of compatible cells for one (rootfs, placement tags)
// combination, grouped by zone, or the filter failure when there is none.
// Compatibility does not change while Place runs, so it is computed once
// per combination.
type class struct {
	zones []zoneCells
	fail  *Failure
}

// zoneCells lists the compatible cells of one zone in scan order.
type zoneCells struct {
	zone  int32
	cells []int32
}

// classKey identifies the filter inputs of w: its rootfs and its tag set.
func classKey(w *Work) string {
	if len(w.PlacementTags) == 0 {
		return w.RootFS
	}
	tags := model.SortedStrings(w.PlacementTags)
	return w.RootFS + "\x00" + strings.Join(tags, "\x00")
}

// classFor returns the compatible cells for w (spec §5.2): cells that
// support its rootfs and match its placement tags (R ⊆ D ⊆ R∪O, §5.4).
// When none match, the most specific error wins: a tag mismatch if some
// cell has the rootfs, otherwise a rootfs mismatch.
func (p *placer) classFor(w *Work) *class {
	key := classKey(w)
	if cl, ok := p.classes[key]; ok {
		return cl
	}
	cl := &class{}
	byZone := make([][]int32, len(p.zones))
	rootfsOK := false
	for _, ci := range p.scan {
		cell := &p.cells[ci].src.Cell
		if !cell.SupportsRootFS(w.RootFS) {
			continue
		}
		rootfsOK = true
		if !cell.MatchesPlacementTags(w.PlacementTags) {
			continue
		}
		z := p.cells[ci].zone
		byZone[z] = append(byZone[z], ci)
	}
	for z, cells := range byZone {
		if len(cells) > 0 {
			cl.zones = append(cl.zones, zoneCells{zone: int32(z), cells: cells})
		}
	}
	if len(cl.zones) == 0 {
		f := Failure{Code: FailureRootFS, Detail: MsgRootFSMismatch}
		if rootfsOK {
			f = Failure{Code: FailurePlacementTags, Detail: placementTagMessage(model.SortedStrings(w.PlacementTags))}
		}
		cl.fail = &f
	}
	p.classes[key] = cl
	return cl
}

// placementTagMessage is Diego's PlacementTagMismatchError text.
func placementTagMessage(tags []string) string {
	switch len(tags) {
	case 0:
		return "found no compatible cell with no placement tags"
	case 1:
		return `found no compatible cell with placement tag "` + tags[0] + `"`
	}
	quoted := make([]string, len(tags)-1)
	for i, t := range tags[:len(tags)-1] {
		quoted[i] = `"` + t + `"`
	}
	return "found no compatible cell with placement tags " + strings.Join(quoted, ", ") + ` and "` + tags[len(tags)-1] + `"`
}

// problemSet is a set of resource shortfalls: containers, disk, memory.
type problemSet uint8

const (
	problemContainers problemSet = 1 << iota
	problemDisk
	problemMemory
	allProblems = problemContainers | problemDisk | problemMemory
)

// fits reports whether one more item of req fits in avail (one container,
// memory and disk), as Diego's ResourceMatch.
func fits(avail, req model.Resources) bool {
	return avail.MemoryMB >= req.MemoryMB && avail.DiskMB >= req.DiskMB && avail.Containers >= 1
}

// shortfall returns what avail lacks for req.
func shortfall(avail, req model.Resources) problemSet {
	var s problemSet
	if avail.Containers < 1 {
		s |= problemContainers
	}
	if avail.DiskMB < req.DiskMB {
		s |= problemDisk
	}
	if avail.MemoryMB < req.MemoryMB {
		s |= problemMemory
	}
	return s
}

// String is Diego's InsufficientResourcesError text: the problems shared by
// every candidate cell, sorted.
func (s problemSet) String() string {
	var names []string
	if s&problemContainers != 0 {
		names = append(names, "containers")
	}
	if s&problemDisk != 0 {
		names = append(names, "disk")
	}
	if s&problemMemory != 0 {
		names = append(names, "memory")
	}
	if len(names) == 0 {
		return "insufficient resources"
	}
	sort.Strings(names)
	return "insufficient resources: " + strings.Join(names, ", ")
}
