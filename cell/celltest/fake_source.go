package celltest

import (
	"context"
	"sync"

	"github.com/diegod/diegod/cell"
	"github.com/diegod/diegod/model"
)

// FakeSource is a cell.AssignmentSource whose state a test sets. Every
// change bumps its index (starting at 1) and wakes blocked callers.
type FakeSource struct {
	mu      sync.Mutex
	index   uint64
	rows    []model.ActualLRP
	desired map[string]model.DesiredLRP
	tasks   []model.Task // fake_source_task.go
	changed chan struct{}
	calls   int
}

var _ cell.AssignmentSource = (*FakeSource)(nil)

// NewFakeSource returns an empty source at index 1.
func NewFakeSource() *FakeSource {
	return &FakeSource{index: 1, desired: map[string]model.DesiredLRP{}, changed: make(chan struct{})}
}

// Set replaces the rows and adds the DesiredLRPs; it returns the new index.
func (s *FakeSource) Set(rows []model.ActualLRP, desired ...model.DesiredLRP) uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rows = append([]model.ActualLRP(nil), rows...)
	for _, d := range desired {
		s.desired[d.ProcessGUID] = d
	}
	return s.bumpLocked()
}

// Update replaces the rows with fn(rows); it returns the new index.
func (s *FakeSource) Update(fn func([]model.ActualLRP) []model.ActualLRP) uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rows = fn(append([]model.ActualLRP(nil), s.rows...))
	return s.bumpLocked()
}

func (s *FakeSource) bumpLocked() uint64 {
	s.index++
	close(s.changed)
	s.changed = make(chan struct{})
	return s.index
}

// Index returns the current index.
func (s *FakeSource) Index() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.index
}

// Calls returns how many assignments were returned.
func (s *FakeSource) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// Assignments returns the rows of cellID once the index is above minIndex.
func (s *FakeSource) Assignments(ctx context.Context, cellID string, minIndex uint64) (cell.Assignment, error) {
	for {
		s.mu.Lock()
		if minIndex == 0 || s.index > minIndex {
			a := cell.Assignment{Index: s.index, Desired: map[string]model.DesiredLRP{}, Tasks: s.tasksOfLocked(cellID)}
			for _, r := range s.rows {
				if r.CellID != cellID {
					continue
				}
				a.Rows = append(a.Rows, r)
				if d, ok := s.desired[r.ProcessGUID]; ok {
					a.Desired[r.ProcessGUID] = d
				}
			}
			s.calls++
			s.mu.Unlock()
			return a, nil
		}
		ch := s.changed
		s.mu.Unlock()
		select {
		case <-ctx.Done():
			return cell.Assignment{}, ctx.Err()
		case <-ch:
		}
	}
}
