package routing

import (
	"context"

	"github.com/diegod/diegod/model"
)

// Snapshot is the part of the replicated state the router reads: every
// DesiredLRP and every ActualLRP row at one applied Raft index.
type Snapshot struct {
	Index   uint64
	Desired []model.DesiredLRP
	Actuals []model.ActualLRP
}

// Source is the router's view of the local state. The node adapts the
// raftstore to it.
type Source interface {
	// Snapshot returns a consistent view of the state; it includes every
	// event already delivered on a subscription.
	Snapshot() Snapshot
	// Subscribe delivers, for every applied log entry, the events it
	// produced. The channel is closed when ctx ends or when the subscriber
	// falls more than buffer entries behind; the consumer then resubscribes
	// and re-reads a Snapshot.
	Subscribe(ctx context.Context, buffer int) <-chan []model.Event
}

// LogSink receives the router's access lines for the app log streams
// ([RTR/<index>]). AppendLog is called on the request path: it must not
// block (buffer or drop instead).
type LogSink interface {
	AppendLog(line model.LogLine)
}

type nopSink struct{}

func (nopSink) AppendLog(model.LogLine) {}
