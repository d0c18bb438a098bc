package model

import (
	"errors"
	"fmt"
)

// Code is a stable error code that crosses the wire. Clients branch on the
// code, never on the message.
type Code string

// The error codes diegod uses.
const (
	CodeInvalidRequest     Code = "invalid_request"
	CodeNotFound           Code = "not_found"
	CodeResourceExists     Code = "resource_exists"
	CodeInvalidTransition  Code = "invalid_transition"
	CodeInsufficientRes    Code = "insufficient_resources"
	CodeStale              Code = "stale"
	CodeUnauthorized       Code = "unauthorized"
	CodeNotLeader          Code = "not_leader"
	CodeUnavailable        Code = "unavailable"
	CodeInternal           Code = "internal"
	CodeRequestTooLarge    Code = "request_too_large"
	CodeUnsupportedCommand Code = "unsupported_command"
)

// Error is an error with a stable Code. Business rejections by the store are
// *Error values.
type Error struct {
	Code    Code   `json:"code"`
	Message string `json:"message"`
}

// Error implements error.
func (e *Error) Error() string { return e.Message }

// Is reports whether target is an *Error with the same code, so
// errors.Is(err, model.ErrNotFound) works for any not-found error.
func (e *Error) Is(target error) bool {
	var t *Error
	if errors.As(target, &t) {
		return t.Code == e.Code && (t.Message == "" || t.Message == e.Message)
	}
	return false
}

// Errorf returns an *Error with the code and a formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Sentinels for errors.Is; they match any *Error with the same code.
var (
	ErrInvalidRequest    = &Error{Code: CodeInvalidRequest}
	ErrNotFound          = &Error{Code: CodeNotFound}
	ErrResourceExists    = &Error{Code: CodeResourceExists}
	ErrInvalidTransition = &Error{Code: CodeInvalidTransition}
	ErrInsufficientRes   = &Error{Code: CodeInsufficientRes}
	ErrStale             = &Error{Code: CodeStale}
	ErrNotLeader         = &Error{Code: CodeNotLeader}
)

// CodeOf returns the Code of err, CodeInternal for an error without one, and
// "" for nil.
func CodeOf(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// ValidationError lists every problem found in a spec. Its Error joins them
// on one line so a CLI can print it as is.
type ValidationError struct {
	Problems []string
}

// Error implements error.
func (v *ValidationError) Error() string {
	s := "invalid spec: "
	for i, p := range v.Problems {
		if i > 0 {
			s += "; "
		}
		s += p
	}
	return s
}

func (v *ValidationError) add(format string, args ...any) {
	v.Problems = append(v.Problems, fmt.Sprintf(format, args...))
}

func (v *ValidationError) orNil() error {
	if len(v.Problems) == 0 {
		return nil
	}
	return &Error{Code: CodeInvalidRequest, Message: v.Error()}
}

// Truncate cuts s to at most n bytes, as Diego does for reasons (1024 B).
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
