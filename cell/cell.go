package cell

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/diegod/diegod/model"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

// Log field keys of package cell.
const (
	logCellID       = "cell_id"
	logProcessGUID  = "process_guid"
	logIndex        = "index"
	logInstanceGUID = "instance_guid"
	logCommand      = "command"
	logReason       = "reason"
	logContainerID  = "container_id"
	logViewIndex    = "view_index"
	logActions      = "actions"
	logRetryIn      = "retry_in"
)

// Assignment is what the store holds for one cell at one view index: the
// rows whose cell_id is the cell and the DesiredLRPs they belong to, and
// the tasks RUNNING on the cell.
type Assignment struct {
	Index   uint64
	Rows    []model.ActualLRP
	Desired map[string]model.DesiredLRP
	Tasks   []model.Task
}

// AssignmentSource gives a cell its assignments. The node implements it on
// the local store.
type AssignmentSource interface {
	// Assignments returns the rows whose cell_id is cellID, the
	// DesiredLRPs they belong to and the tasks RUNNING on cellID, from a
	// consistent view whose index is > minIndex and that changed something
	// on this cell after minIndex (minIndex 0 = return at once). It blocks
	// until then or until ctx ends.
	Assignments(ctx context.Context, cellID string, minIndex uint64) (Assignment, error)
}

// Reporter proposes the cell's lifecycle commands (UpsertCell,
// StartActualLRP, CrashActualLRP, UnclaimActualLRP, RemoveActualLRP). A
// business rejection is a *model.Error.
type Reporter interface {
	Report(ctx context.Context, cmd model.Command) error
}

// retryDelay is the first wait before a failed report or assignment read is
// retried; it doubles up to Config.ReportRetryMax.
const retryDelay = 100 * time.Millisecond

// noProgressDelay is the wait before asking again when a source returns a
// view that is not newer than the last one (a source at index 0).
const noProgressDelay = 100 * time.Millisecond

// Cell is one node's executor: it registers the cell, watches the rows
// assigned to it, runs each instance in a container through lifecycle
// steps, and reports what happens. See the package doc for the contract.
type Cell struct {
	cfg     Config
	rt      Runtime
	src     AssignmentSource
	rep     Reporter
	log     zerolog.Logger
	logs    *LogStore
	metrics *cellMetrics
	stats   *metricsStore
	slots   chan struct{}

	mu        sync.Mutex
	instances map[string]*instance // by instance guid
	inflight  map[string]bool      // unclaim/remove reports in flight, by instance guid
	evacuated sync.Map             // instance guid -> modification tag of the row last evacuated (evacuate.go)
	tasks     taskTable            // the tasks the cell runs (task.go)
	wg        sync.WaitGroup       // instance and report goroutines
}

// New returns a cell; Run starts it.
func New(cfg Config, rt Runtime, src AssignmentSource, rep Reporter, log zerolog.Logger) (*Cell, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if rt == nil || src == nil || rep == nil {
		return nil, fmt.Errorf("%w: runtime, assignment source and reporter are required", ErrInvalidConfig)
	}
	logs := NewLogStore(LogConfig{
		LinesPerInstance: cfg.LogLinesPerInstance,
		BytesTotal:       cfg.LogBytesTotal,
		FollowBuffer:     cfg.LogFollowBuffer,
	})
	return &Cell{
		cfg:       cfg,
		rt:        rt,
		src:       src,
		rep:       rep,
		log:       log.With().Str("component", "cell").Str(logCellID, cfg.CellID).Logger(),
		logs:      logs,
		metrics:   newCellMetrics(logs),
		stats:     newMetricsStore(),
		slots:     make(chan struct{}, cfg.MaxDownloads),
		instances: map[string]*instance{},
		inflight:  map[string]bool{},
	}, nil
}

// ID returns the cell id.
func (c *Cell) ID() string { return c.cfg.CellID }

// Logs returns the cell's log store (app, CELL and HEALTH lines of its
// instances). The node serves it and lets the router append RTR lines.
func (c *Cell) Logs() *LogStore { return c.logs }

// InstanceMetrics returns the latest container metrics of an instance this
// cell runs.
func (c *Cell) InstanceMetrics(instanceGUID string) (Metrics, bool) {
	return c.stats.get(instanceGUID)
}

// Collectors returns the cell's Prometheus collectors, for the node to
// register.
func (c *Cell) Collectors() []prometheus.Collector { return c.metrics.collectors() }

// CellRecord returns the record the cell registers.
func (c *Cell) CellRecord() model.Cell {
	return model.Cell{
		CellID:                c.cfg.CellID,
		Address:               c.cfg.Address,
		Zone:                  c.cfg.Zone,
		Capacity:              c.cfg.Capacity,
		PlacementTags:         append([]string(nil), c.cfg.PlacementTags...),
		OptionalPlacementTags: append([]string(nil), c.cfg.OptionalPlacementTags...),
		RootFSProviders:       append([]string(nil), c.cfg.RootFSProviders...),
		State:                 model.CellAlive,
	}
}

// Run registers the cell, adopts or destroys the containers an earlier run
// left, then applies its assignments until ctx ends. On return every
// container it ran has been stopped and destroyed (nothing is reported for
// them). It returns nil when ctx ends, or an error if the cell could not
// register for a reason other than ctx.
func (c *Cell) Run(ctx context.Context) error {
	c.log.Info().Msg("cell starting")
	c.tasks.setStarted(time.Now())
	if err := c.report(ctx, model.UpsertCell{Cell: c.CellRecord()}); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("register cell %s: %w", c.cfg.CellID, err)
	}
	// Instances outlive ctx long enough to be stopped gracefully.
	instCtx, cancelInstances := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelInstances()
	metricsDone := make(chan struct{})
	go func() {
		defer close(metricsDone)
		c.runMetrics(ctx)
	}()

	var last uint64
	first := true
	delay := retryDelay
	for ctx.Err() == nil {
		a, err := c.src.Assignments(ctx, c.cfg.CellID, last)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			c.log.Warn().Err(err).Msg("read assignments failed")
			sleep(ctx, delay)
			delay = min(delay*2, c.cfg.ReportRetryMax)
			continue
		}
		delay = retryDelay
		if first {
			c.reattach(ctx, instCtx, a)
			first = false
		} else if a.Index <= last {
			sleep(ctx, noProgressDelay)
		}
		last = max(last, a.Index)
		plan := Diff(a.Rows, a.Desired, c.observed(), c.cfg.CellID)
		c.log.Debug().Uint64(logViewIndex, a.Index).Int(logActions, len(plan)).Msg("assignments")
		c.apply(instCtx, plan)
		c.evacuate(instCtx, a)
		c.applyTasks(instCtx, a)
	}
	c.shutdown(cancelInstances)
	<-metricsDone
	c.log.Info().Msg("cell stopped")
	return nil
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// observed returns what the cell holds, for Diff.
func (c *Cell) observed() map[string]Observed {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]Observed, len(c.instances))
	for g, in := range c.instances {
		out[g] = Observed{Key: in.key, InstanceGUID: g, Phase: in.getPhase()}
	}
	return out
}

// liveInstances returns the instances not yet finished.
func (c *Cell) liveInstances() []*instance {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*instance
	for _, in := range c.instances {
		if in.getPhase() != PhaseFinished {
			out = append(out, in)
		}
	}
	return out
}

// apply carries out a plan.
func (c *Cell) apply(instCtx context.Context, plan []Action) {
	for _, a := range plan {
		switch a.Kind {
		case ActionStart:
			c.start(instCtx, a.Row, a.Desired, nil)
		case ActionStop:
			c.stop(a.InstanceKey.InstanceGUID)
		case ActionUnclaim:
			c.reportOnce(instCtx, a.InstanceKey.InstanceGUID, model.UnclaimActualLRP{Key: a.Key, InstanceKey: a.InstanceKey})
		case ActionRemove:
			c.reportOnce(instCtx, a.InstanceKey.InstanceGUID, model.RemoveActualLRP{Key: a.Key, InstanceKey: a.InstanceKey})
		case ActionForget:
			c.mu.Lock()
			if in, ok := c.instances[a.InstanceKey.InstanceGUID]; ok && in.getPhase() == PhaseFinished {
				delete(c.instances, a.InstanceKey.InstanceGUID)
			}
			c.mu.Unlock()
		}
	}
}

// reportOnce sends cmd in the background unless a report for guid is
// already in flight.
func (c *Cell) reportOnce(ctx context.Context, guid string, cmd model.Command) {
	c.mu.Lock()
	if c.inflight[guid] {
		c.mu.Unlock()
		return
	}
	c.inflight[guid] = true
	c.mu.Unlock()
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		defer func() {
			c.mu.Lock()
			delete(c.inflight, guid)
			c.mu.Unlock()
		}()
		if err := c.report(ctx, cmd); err != nil && ctx.Err() == nil {
			c.log.Info().Err(err).Str(logCommand, cmd.CommandName()).Str(logInstanceGUID, guid).Msg("report refused")
		}
	}()
}

// report sends cmd, retrying transient failures with backoff until ctx
// ends. A business rejection is returned at once.
func (c *Cell) report(ctx context.Context, cmd model.Command) error {
	delay := retryDelay
	for {
		err := c.rep.Report(ctx, cmd)
		if err == nil || permanent(err) {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		c.log.Warn().Err(err).Str(logCommand, cmd.CommandName()).Dur(logRetryIn, delay).Msg("report failed")
		sleep(ctx, delay)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		delay = min(delay*2, c.cfg.ReportRetryMax)
	}
}

// shutdown stops every instance without reporting and waits for them.
func (c *Cell) shutdown(cancelInstances context.CancelFunc) {
	c.mu.Lock()
	for _, in := range c.instances {
		in.requestStop()
	}
	c.mu.Unlock()
	c.stopTasks()
	cancelInstances()
	c.wg.Wait()
}
