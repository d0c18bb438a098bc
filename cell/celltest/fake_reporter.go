package celltest

import (
	"context"
	"sync"

	"github.com/diegod/diegod/cell"
	"github.com/diegod/diegod/model"
)

// FakeReporter is a cell.Reporter that records every command reported to
// it. SetFunc scripts its answers (nil accepts everything).
type FakeReporter struct {
	mu   sync.Mutex
	fn   func(model.Command) error
	cmds []model.Command
}

var _ cell.Reporter = (*FakeReporter)(nil)

// NewFakeReporter returns a reporter that accepts everything.
func NewFakeReporter() *FakeReporter { return &FakeReporter{} }

// SetFunc makes fn decide the answer to each later report.
func (r *FakeReporter) SetFunc(fn func(model.Command) error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fn = fn
}

// Report records cmd and returns the scripted answer.
func (r *FakeReporter) Report(ctx context.Context, cmd model.Command) error {
	r.mu.Lock()
	fn := r.fn
	r.cmds = append(r.cmds, cmd)
	r.mu.Unlock()
	if fn != nil {
		return fn(cmd)
	}
	return nil
}

// Commands returns every command reported so far, in order (refused ones
// included).
func (r *FakeReporter) Commands() []model.Command {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]model.Command(nil), r.cmds...)
}

// CommandsOf returns the reported commands of type T, in order.
func CommandsOf[T model.Command](r *FakeReporter) []T {
	var out []T
	for _, c := range r.Commands() {
		if t, ok := c.(T); ok {
			out = append(out, t)
		}
	}
	return out
}
