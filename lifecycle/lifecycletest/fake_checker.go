package lifecycletest

import (
	"context"
	"sync"

	"github.com/diegod/diegod/lifecycle"
)

// FakeChecker is a scriptable lifecycle.Checker: each Check returns the next
// scripted result, then the default once the script is used up.
type FakeChecker struct {
	mu     sync.Mutex
	script []error
	def    error
	calls  int
}

var _ lifecycle.Checker = (*FakeChecker)(nil)

// NewFakeChecker returns a checker that returns script in order, then nil.
func NewFakeChecker(script ...error) *FakeChecker {
	return &FakeChecker{script: append([]error(nil), script...)}
}

// Check returns the next scripted result.
func (f *FakeChecker) Check(ctx context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if len(f.script) > 0 {
		err := f.script[0]
		f.script = f.script[1:]
		return err
	}
	return f.def
}

// Push appends results to the script.
func (f *FakeChecker) Push(results ...error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.script = append(f.script, results...)
}

// SetDefault sets the result once the script is used up.
func (f *FakeChecker) SetDefault(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.def = err
}

// Calls returns how many times Check ran.
func (f *FakeChecker) Calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}
