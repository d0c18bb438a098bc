package model

import "time"

// Log source types (cf-style prefixes such as [APP/PROC/WEB/0]).
const (
	LogSourceApp    = "APP/PROC/WEB"
	LogSourceCell   = "CELL"
	LogSourceHealth = "HEALTH"
	LogSourceRouter = "RTR"
	// LogSourceTask prefixes a task's own output: APP/TASK/<task guid>.
	LogSourceTask = "APP/TASK"
)

// LogNoIndex is the Index of a line that belongs to no instance index (a
// task's lines); its prefix has no index: [APP/TASK/<guid>] OUT.
const LogNoIndex = -1

// Log streams.
const (
	StreamOut = "OUT"
	StreamErr = "ERR"
)

// MaxLogLineSize is the longest log line; longer output is split (Diego's
// 61,440 B envelope limit).
const MaxLogLineSize = 61440

// LogLine is one line of an app's log stream.
type LogLine struct {
	Time        time.Time `json:"time"`
	ProcessGUID string    `json:"process_guid"`
	Index       int       `json:"index"`
	// InstanceGUID is the instance that wrote the line, "" for router lines.
	InstanceGUID string `json:"instance_guid,omitempty"`
	// Source is the source type: APP/PROC/WEB, CELL, HEALTH, RTR, ...
	Source string `json:"source"`
	// Stream is OUT or ERR.
	Stream string `json:"stream"`
	Text   string `json:"text"`
}

// Prefix returns the cf-style "[SOURCE/INDEX] STREAM" prefix, or
// "[SOURCE] STREAM" for a line without an index (LogNoIndex).
func (l *LogLine) Prefix() string {
	if l.Index == LogNoIndex {
		return "[" + l.Source + "] " + l.Stream
	}
	return "[" + l.Source + "/" + itoa(l.Index) + "] " + l.Stream
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	neg := n < 0
	if neg {
		n = -n
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}
