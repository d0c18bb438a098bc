package raftstore

import (
	"fmt"
	"io"
	"log"
	"strings"

	"github.com/hashicorp/go-hclog"
	"github.com/rs/zerolog"
)

// Log field keys used by this package.
const (
	logKeyComponent   = "component"
	logKeyIndex       = "raft_index"
	logKeyCommand     = "command"
	logKeyCount       = "count"
	logKeyNodeID      = "node_id"
	logKeyAddress     = "address"
	logKeySkipped     = "skipped"
	logKeyLeader      = "leader"
	logKeySubscribers = "subscribers"
	logKeyRaftModule  = "raft_module"
)

// parseLevel maps a level name to an hclog level.
func parseLevel(s string) (hclog.Level, error) {
	switch strings.ToLower(s) {
	case "trace":
		return hclog.Trace, nil
	case "debug":
		return hclog.Debug, nil
	case "info":
		return hclog.Info, nil
	case "", "warn", "warning":
		return hclog.Warn, nil
	case "error":
		return hclog.Error, nil
	}
	return hclog.NoLevel, fmt.Errorf("unknown level %q (trace, debug, info, warn, error)", s)
}

// hclogAdapter is an hclog.Logger that forwards raft's key/value log lines to
// zerolog, so raft logs like every other component (STYLE rule 15).
type hclogAdapter struct {
	zl      zerolog.Logger
	level   hclog.Level
	name    string
	implied []any
}

var _ hclog.Logger = (*hclogAdapter)(nil)

// newHCLogAdapter returns an hclog.Logger writing to zl at level and above.
func newHCLogAdapter(zl zerolog.Logger, level hclog.Level) *hclogAdapter {
	return &hclogAdapter{zl: zl, level: level}
}

// Log implements hclog.Logger.
func (a *hclogAdapter) Log(level hclog.Level, msg string, args ...any) {
	if level < a.level || level == hclog.Off {
		return
	}
	var ev *zerolog.Event
	switch level {
	case hclog.Trace:
		ev = a.zl.Trace()
	case hclog.Debug:
		ev = a.zl.Debug()
	case hclog.Info, hclog.NoLevel:
		ev = a.zl.Info()
	case hclog.Warn:
		ev = a.zl.Warn()
	default:
		ev = a.zl.Error()
	}
	if ev == nil {
		return
	}
	if a.name != "" {
		ev = ev.Str(logKeyRaftModule, a.name)
	}
	ev = addPairs(addPairs(ev, a.implied), args)
	ev.Msg(strings.ToLower(msg))
}

// addPairs adds hclog's alternating key/value arguments as zerolog fields.
func addPairs(ev *zerolog.Event, args []any) *zerolog.Event {
	for i := 0; i < len(args); i += 2 {
		key := fmt.Sprint(args[i])
		if i+1 >= len(args) {
			ev = ev.Interface("extra", args[i])
			break
		}
		switch v := args[i+1].(type) {
		case error:
			ev = ev.AnErr(key, v)
		case fmt.Stringer:
			ev = ev.Str(key, v.String())
		default:
			ev = ev.Interface(key, v)
		}
	}
	return ev
}

// Trace implements hclog.Logger.
func (a *hclogAdapter) Trace(msg string, args ...any) { a.Log(hclog.Trace, msg, args...) }

// Debug implements hclog.Logger.
func (a *hclogAdapter) Debug(msg string, args ...any) { a.Log(hclog.Debug, msg, args...) }

// Info implements hclog.Logger.
func (a *hclogAdapter) Info(msg string, args ...any) { a.Log(hclog.Info, msg, args...) }

// Warn implements hclog.Logger.
func (a *hclogAdapter) Warn(msg string, args ...any) { a.Log(hclog.Warn, msg, args...) }

// Error implements hclog.Logger.
func (a *hclogAdapter) Error(msg string, args ...any) { a.Log(hclog.Error, msg, args...) }

// IsTrace implements hclog.Logger.
func (a *hclogAdapter) IsTrace() bool { return a.level <= hclog.Trace }

// IsDebug implements hclog.Logger.
func (a *hclogAdapter) IsDebug() bool { return a.level <= hclog.Debug }

// IsInfo implements hclog.Logger.
func (a *hclogAdapter) IsInfo() bool { return a.level <= hclog.Info }

// IsWarn implements hclog.Logger.
func (a *hclogAdapter) IsWarn() bool { return a.level <= hclog.Warn }

// IsError implements hclog.Logger.
func (a *hclogAdapter) IsError() bool { return a.level <= hclog.Error }

// ImpliedArgs implements hclog.Logger.
func (a *hclogAdapter) ImpliedArgs() []any { return a.implied }

// With implements hclog.Logger.
func (a *hclogAdapter) With(args ...any) hclog.Logger {
	c := *a
	c.implied = append(append([]any(nil), a.implied...), args...)
	return &c
}

// Name implements hclog.Logger.
func (a *hclogAdapter) Name() string { return a.name }

// Named implements hclog.Logger.
func (a *hclogAdapter) Named(name string) hclog.Logger {
	c := *a
	if c.name != "" {
		c.name += "." + name
	} else {
		c.name = name
	}
	return &c
}

// ResetNamed implements hclog.Logger.
func (a *hclogAdapter) ResetNamed(name string) hclog.Logger {
	c := *a
	c.name = name
	return &c
}

// SetLevel implements hclog.Logger.
func (a *hclogAdapter) SetLevel(level hclog.Level) { a.level = level }

// GetLevel implements hclog.Logger.
func (a *hclogAdapter) GetLevel() hclog.Level { return a.level }

// StandardLogger implements hclog.Logger.
func (a *hclogAdapter) StandardLogger(opts *hclog.StandardLoggerOptions) *log.Logger {
	return log.New(a.StandardWriter(opts), "", 0)
}

// StandardWriter implements hclog.Logger: each written line becomes one log
// line at warn level (raft's transports use it for stray errors).
func (a *hclogAdapter) StandardWriter(*hclog.StandardLoggerOptions) io.Writer {
	return writerFunc(func(p []byte) (int, error) {
		a.Log(hclog.Warn, strings.TrimSpace(string(p)))
		return len(p), nil
	})
}

type writerFunc func(p []byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
