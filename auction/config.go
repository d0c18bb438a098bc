package auction

import (
	"fmt"
	"time"
)

// Defaults of the runner (Diego's where it has one, spec §9).
const (
	// DefaultConvergeInterval is Diego's converge_repeat_interval.
	DefaultConvergeInterval = 30 * time.Second
	// DefaultConvergeMinGap is the least time between two event-triggered
	// convergence passes, so that a burst of events costs one pass.
	DefaultConvergeMinGap = 100 * time.Millisecond
	// DefaultSubscribeBuffer is Diego's per-subscriber event buffer.
	DefaultSubscribeBuffer = 1024
	// DefaultProposeConcurrency bounds the convergence commands in flight.
	DefaultProposeConcurrency = 64
	// DefaultRetryDelay is the wait before an auction whose ClaimBatch could
	// not be proposed is tried again (Diego sleeps 1 s when the BBS fails).
	DefaultRetryDelay = time.Second
)

// Config configures the Runner. The zero value is not valid; start from
// DefaultConfig.
type Config struct {
	// ConvergeInterval is the period of the convergence pass; passes also
	// run after relevant events and at ConvergeResult.NextWake.
	ConvergeInterval time.Duration
	// ConvergeMinGap is the least time between two passes triggered by
	// events or NextWake.
	ConvergeMinGap time.Duration
	// StaleUnclaimedDuration is the age after which an UNCLAIMED row with a
	// placement error is retried (Diego: 30 s, hard-coded).
	StaleUnclaimedDuration time.Duration
	// Options are the auction weights; Seed is ignored (each auction seeds
	// with its batch id XOR the snapshot index).
	Options Options
	// SubscribeBuffer is the event buffer asked of the Source.
	SubscribeBuffer int
	// ProposeConcurrency bounds the convergence commands proposed at once.
	ProposeConcurrency int
	// RetryDelay is the wait before retrying an auction whose ClaimBatch
	// failed to be proposed.
	RetryDelay time.Duration
	// Tasks are the task convergence timings (kick, pending and completed
	// expiry).
	Tasks TaskConfig
	// Clock gives the time for convergence; nil means the real clock.
	Clock Clock
	// Metrics records auction and convergence figures; nil means none.
	Metrics Recorder
}

// DefaultConfig returns Diego's settings.
func DefaultConfig() Config {
	return Config{
		ConvergeInterval:       DefaultConvergeInterval,
		ConvergeMinGap:         DefaultConvergeMinGap,
		StaleUnclaimedDuration: DefaultStaleUnclaimedDuration,
		Options:                DefaultOptions(),
		SubscribeBuffer:        DefaultSubscribeBuffer,
		ProposeConcurrency:     DefaultProposeConcurrency,
		RetryDelay:             DefaultRetryDelay,
		Tasks:                  DefaultTaskConfig(),
	}
}

// Validate reports the first field out of range. It does not modify c.
func (c Config) Validate() error {
	bad := func(field, rule string) error { return fmt.Errorf("%w: %s %s", ErrInvalidConfig, field, rule) }
	switch {
	case c.ConvergeInterval <= 0:
		return bad("ConvergeInterval", "must be > 0")
	case c.ConvergeMinGap < 0:
		return bad("ConvergeMinGap", "must be >= 0")
	case c.StaleUnclaimedDuration <= 0:
		return bad("StaleUnclaimedDuration", "must be > 0")
	case c.SubscribeBuffer <= 0:
		return bad("SubscribeBuffer", "must be > 0")
	case c.ProposeConcurrency <= 0:
		return bad("ProposeConcurrency", "must be > 0")
	case c.RetryDelay <= 0:
		return bad("RetryDelay", "must be > 0")
	}
	if err := c.Tasks.Validate(); err != nil {
		return err
	}
	return c.Options.Validate()
}

// Validate reports the first option out of range. It does not modify o.
func (o Options) Validate() error {
	bad := func(field, rule string) error { return fmt.Errorf("%w: Options.%s %s", ErrInvalidConfig, field, rule) }
	switch {
	case !(o.StartingContainerWeight >= 0):
		return bad("StartingContainerWeight", "must be >= 0")
	case !(o.BinPackFirstFitWeight >= 0):
		return bad("BinPackFirstFitWeight", "must be >= 0")
	case !(o.LocalityOffset >= 0):
		return bad("LocalityOffset", "must be >= 0")
	case o.MaxInFlight < 0:
		return bad("MaxInFlight", "must be >= 0 (0 = no cap)")
	}
	return nil
}

// Clock tells the time. The runner reads it for convergence; timers are
// real.
type Clock interface {
	Now() time.Time
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }
