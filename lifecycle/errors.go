package lifecycle

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Sentinel errors a caller may branch on.
var (
	// ErrCancelled is returned by a step that stopped because its context
	// ended (the step was cancelled, not failed).
	ErrCancelled = errors.New("cancelled")
	// ErrInvalidAction is returned by Build for an action node that names no
	// kind, or more than one.
	ErrInvalidAction = errors.New("invalid action")
	// ErrNoExtractor is returned by a download step that has nowhere to
	// unpack its archive.
	ErrNoExtractor = errors.New("no extractor for downloads")
)

// UserError is a failure a user may see: its Message is what becomes a crash
// reason or a task's failure reason (Diego's "emittable" errors). Err, when
// set, is the underlying cause for logs and errors.Is.
type UserError struct {
	Message string
	Err     error
}

// Error returns the user-facing message.
func (e *UserError) Error() string { return e.Message }

// Unwrap returns the cause.
func (e *UserError) Unwrap() error { return e.Err }

// userErrorf returns a *UserError with a formatted message and a cause.
func userErrorf(cause error, format string, args ...any) *UserError {
	return &UserError{Message: fmt.Sprintf(format, args...), Err: cause}
}

// ExitError is the cause of a run step's failure: the process exited with a
// non-zero status.
type ExitError struct {
	Source    string
	Status    int
	OOMKilled bool
}

// Error returns Diego's wording: "<source>: Exited with status N".
func (e *ExitError) Error() string {
	s := fmt.Sprintf("%s: Exited with status %d", e.Source, e.Status)
	if e.OOMKilled {
		s += " (out of memory)"
	}
	return s
}

// TimeoutError is the cause of a timeout step's failure.
type TimeoutError struct {
	After time.Duration
}

// Error returns "timed out after <d>".
func (e *TimeoutError) Error() string { return fmt.Sprintf("timed out after %s", e.After) }

// HealthError is a monitor's failure: never healthy during startup, or
// unhealthy after having been healthy.
type HealthError struct {
	// Startup is true when the instance never became healthy.
	Startup bool
	// After is the start timeout that ran out (Startup only).
	After time.Duration
	// Err is the last check failure.
	Err error
}

// Error returns Diego's wording.
func (e *HealthError) Error() string {
	if e.Startup {
		return fmt.Sprintf("Instance never healthy after %s: %s", e.After, Reason(e.Err))
	}
	return "Instance became unhealthy: " + Reason(e.Err)
}

// Unwrap returns the last check failure.
func (e *HealthError) Unwrap() error { return e.Err }

// Reason returns the text a user should see for err: the message of the
// outermost UserError, messages of joined errors separated by "; ", or the
// error text itself. It returns "" for nil.
func Reason(err error) string {
	if err == nil {
		return ""
	}
	if ue, ok := err.(*UserError); ok {
		return ue.Message
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var parts []string
		for _, e := range j.Unwrap() {
			if r := Reason(e); r != "" {
				parts = append(parts, r)
			}
		}
		return strings.Join(parts, "; ")
	}
	var ue *UserError
	if errors.As(err, &ue) {
		return ue.Message
	}
	return err.Error()
}

// IsCancelled reports whether err means the step was cancelled rather than
// failed.
func IsCancelled(err error) bool { return errors.Is(err, ErrCancelled) }
