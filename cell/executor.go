package cell

import (
	"context"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/diegod/diegod/lifecycle"
	"github.com/diegod/diegod/model"
	"github.com/rs/zerolog"
)

// destroyTimeout bounds the destruction of one container.
const destroyTimeout = 30 * time.Second

// instance is one ActualLRP instance the cell holds: a container and the
// goroutine that runs it.
type instance struct {
	guid    string
	key     model.ActualLRPKey
	row     model.ActualLRP
	desired model.DesiredLRP
	cancel  context.CancelFunc

	mu          sync.Mutex
	phase       Phase
	stopped     bool // a stop was requested (or the store refused the instance): report nothing
	containerID string
	createdAt   time.Time
	writers     []*lineWriter
}

func (in *instance) getPhase() Phase {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.phase
}

// requestStop marks the instance stopping; it reports whether it was
// active.
func (in *instance) requestStop() bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.stopped = true
	if in.phase != PhaseActive {
		return false
	}
	in.phase = PhaseStopping
	return true
}

func (in *instance) stopRequested() bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.stopped
}

func (in *instance) finish() {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.phase = PhaseFinished
}

func (in *instance) setContainer(id string, created time.Time) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.containerID, in.createdAt = id, created
}

func (in *instance) clearContainer() {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.containerID = ""
}

// container returns the instance's container id, if it has one.
func (in *instance) container() (string, time.Time, bool) {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.containerID, in.createdAt, in.containerID != ""
}

// start spawns the goroutine of a new instance (attach == nil) or of an
// adopted one.
func (c *Cell) start(instCtx context.Context, row model.ActualLRP, d model.DesiredLRP, adopted *adoption) {
	ctx, cancel := context.WithCancel(instCtx)
	in := &instance{guid: row.InstanceGUID, key: row.ActualLRPKey, row: row, desired: d, cancel: cancel}
	c.mu.Lock()
	if _, exists := c.instances[in.guid]; exists {
		c.mu.Unlock()
		cancel()
		return
	}
	c.instances[in.guid] = in
	c.mu.Unlock()
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		defer cancel()
		c.runInstance(ctx, in, adopted)
	}()
}

// stop asks an instance to stop: its steps are cancelled (SIGTERM, grace,
// SIGKILL) and its container destroyed. Nothing is reported.
func (c *Cell) stop(guid string) {
	c.mu.Lock()
	in, ok := c.instances[guid]
	c.mu.Unlock()
	if !ok || !in.requestStop() {
		return
	}
	c.metrics.stops.Inc()
	c.cellLine(in, fmt.Sprintf("Cell %s stopping instance %s", c.cfg.CellID, guid))
	in.cancel()
}

// adoption is a container found at start that the runtime reattached.
type adoption struct {
	info    ContainerInfo
	process Process
}

// runInstance is the life of one instance: create, run, report, destroy.
func (c *Cell) runInstance(ctx context.Context, in *instance, adopted *adoption) {
	log := c.log.With().Str(logProcessGUID, in.key.ProcessGUID).Int(logIndex, in.key.Index).
		Str(logInstanceGUID, in.guid).Logger()
	defer func() {
		in.mu.Lock()
		writers := in.writers
		in.mu.Unlock()
		for _, w := range writers {
			w.Flush()
		}
		c.forgetMetrics(in)
		in.finish()
	}()

	var info ContainerInfo
	if adopted != nil {
		info = adopted.info
		log.Info().Msg("container adopted")
	} else {
		c.cellLine(in, fmt.Sprintf("Cell %s creating container for instance %s", c.cfg.CellID, in.guid))
		var err error
		info, err = c.rt.Create(ctx, containerSpec(in.row, in.desired))
		if err != nil {
			c.metrics.createFailures.Inc()
			log.Warn().Err(err).Msg("create container failed")
			c.cellLine(in, fmt.Sprintf("Cell %s failed to create container for instance %s: %v", c.cfg.CellID, in.guid, err))
			c.destroy(in, in.guid, false)
			if !in.stopRequested() {
				c.crash(ctx, in, "failed to create container: "+err.Error())
			}
			return
		}
		c.cellLine(in, fmt.Sprintf("Cell %s successfully created container for instance %s", c.cfg.CellID, in.guid))
	}
	in.setContainer(info.ID, info.CreatedAt)
	c.metrics.containers.Inc()

	healthy := make(chan struct{}, 1)
	step, source, err := c.buildSteps(in, info, adopted, func() {
		select {
		case healthy <- struct{}{}:
		default:
		}
	})
	if err != nil {
		log.Warn().Err(err).Msg("build steps failed")
		c.destroy(in, info.ID, true)
		if !in.stopRequested() {
			c.crash(ctx, in, "failed to build actions: "+err.Error())
		}
		return
	}

	done := make(chan error, 1)
	go func() { done <- step.Run(ctx) }()
	var runErr error
wait:
	for {
		select {
		case <-healthy:
			c.reportStart(ctx, in, info, log)
		case runErr = <-done:
			// A healthy signal not yet handled came first: report it, so
			// the reports follow the order of events.
			select {
			case <-healthy:
				c.reportStart(ctx, in, info, log)
			default:
			}
			break wait
		}
	}

	switch {
	case in.stopRequested():
		log.Info().Msg("instance stopped")
	default:
		reason := lifecycle.Reason(runErr)
		if runErr == nil {
			reason = source + ": Exited with status 0"
		}
		c.crash(ctx, in, reason)
	}
	c.destroy(in, info.ID, true)
}

// reportStart reports the instance RUNNING with its net info; a refusal
// means the cell no longer holds it, so it is stopped.
func (c *Cell) reportStart(ctx context.Context, in *instance, info ContainerInfo, log zerolog.Logger) {
	if in.stopRequested() {
		return
	}
	err := c.report(ctx, model.StartActualLRP{
		Key:         in.key,
		InstanceKey: model.ActualLRPInstanceKey{InstanceGUID: in.guid, CellID: c.cfg.CellID},
		NetInfo:     info.NetInfo,
	})
	switch {
	case err == nil:
		c.metrics.starts.Inc()
		log.Info().Msg("instance running")
	case refused(err):
		log.Info().Err(err).Msg("start refused, stopping instance")
		if in.requestStop() {
			c.cellLine(in, fmt.Sprintf("Cell %s stopping instance %s", c.cfg.CellID, in.guid))
		}
		in.cancel()
	case ctx.Err() == nil:
		log.Warn().Err(err).Msg("report start failed")
	}
}

// crash reports the instance crashed with reason.
func (c *Cell) crash(ctx context.Context, in *instance, reason string) {
	reason = model.Truncate(reason, model.MaxReasonSize)
	c.metrics.crashes.Inc()
	c.log.Info().Str(logInstanceGUID, in.guid).Str(logReason, reason).Msg("instance crashed")
	err := c.report(ctx, model.CrashActualLRP{
		Key:         in.key,
		InstanceKey: model.ActualLRPInstanceKey{InstanceGUID: in.guid, CellID: c.cfg.CellID},
		Reason:      reason,
	})
	if err != nil && ctx.Err() == nil {
		c.log.Info().Err(err).Str(logInstanceGUID, in.guid).Msg("crash report refused")
	}
}

// destroy removes the container; counted says whether it was counted as
// held.
func (c *Cell) destroy(in *instance, id string, counted bool) {
	if counted {
		c.cellLine(in, fmt.Sprintf("Cell %s destroying container for instance %s", c.cfg.CellID, in.guid))
	}
	ctx, cancel := context.WithTimeout(context.Background(), destroyTimeout)
	defer cancel()
	if err := c.rt.Destroy(ctx, id); err != nil {
		c.log.Warn().Err(err).Str(logContainerID, id).Msg("destroy container failed")
	} else if counted {
		c.cellLine(in, fmt.Sprintf("Cell %s successfully destroyed container for instance %s", c.cfg.CellID, in.guid))
	}
	if counted {
		c.metrics.containers.Dec()
	}
	in.clearContainer()
}

// buildSteps returns serial(setup, codependent(daemon(action), monitor))
// for a new instance, or the supervision of the adopted process with the
// monitor; and the log source of the main process, for reasons.
func (c *Cell) buildSteps(in *instance, info ContainerInfo, adopted *adoption, onHealthy func()) (lifecycle.Step, string, error) {
	d := in.desired
	run := runner{rt: c.rt, id: info.ID}
	env := lifecycle.BuildEnv{
		Runner:           run,
		Extractor:        c.extractor(info.ID),
		DownloadSlots:    c.slots,
		Env:              InstanceEnv(in.row, d, info.NetInfo),
		DefaultLogSource: model.LogSourceApp,
		Output:           func(source string) (io.Writer, io.Writer) { return c.output(in, source) },
		Grace:            c.cfg.StopGrace,
		Log:              c.log.With().Str(logInstanceGUID, in.guid).Logger(),
	}
	source := model.LogSourceApp
	if d.Action != nil {
		if r := d.Action.FirstRun(); r != nil && r.LogSource != "" {
			source = r.LogSource
		}
	}

	var action lifecycle.Step
	var setup lifecycle.Step
	if adopted != nil {
		action = &lifecycle.RunStep{Attach: process{adopted.process}, LogSource: source, Grace: c.cfg.StopGrace, Log: env.Log}
	} else {
		if d.Action == nil {
			return nil, "", fmt.Errorf("%w: the LRP has no action", lifecycle.ErrInvalidAction)
		}
		var err error
		if action, err = lifecycle.Build(*d.Action, env); err != nil {
			return nil, "", err
		}
		if d.Setup != nil {
			if setup, err = lifecycle.Build(*d.Setup, env); err != nil {
				return nil, "", err
			}
		}
	}

	var longLived lifecycle.Step
	hc := d.EffectiveHealthCheck()
	if hc.Type == model.HealthCheckNone {
		longLived = lifecycle.Serial(lifecycle.StepFunc(func(context.Context) error {
			onHealthy()
			return nil
		}), action)
	} else {
		interval := time.Duration(hc.IntervalMS) * time.Millisecond
		if c.cfg.LivenessInterval > 0 {
			interval = c.cfg.LivenessInterval
		}
		monitor := &lifecycle.Monitor{
			Checker:         c.checker(hc, info, run, env.Env),
			StartupInterval: c.cfg.StartupInterval,
			StartTimeout:    time.Duration(d.StartTimeoutMS) * time.Millisecond,
			Interval:        interval,
			OnHealthy: func() {
				c.cellLine(in, "Container became healthy")
				onHealthy()
			},
			OnFailure: func(err error) { c.healthLine(in, lifecycle.Reason(err)) },
		}
		longLived = lifecycle.Codependent(lifecycle.Daemon(action), monitor)
	}
	if setup != nil {
		return lifecycle.Serial(setup, longLived), source, nil
	}
	return longLived, source, nil
}

// checker returns the probe of a health check.
func (c *Cell) checker(hc model.HealthCheck, info ContainerInfo, run runner, env []string) lifecycle.Checker {
	timeout := time.Duration(hc.TimeoutMS) * time.Millisecond
	switch hc.Type {
	case model.HealthCheckExec:
		spec := lifecycle.ProcessSpec{
			Env: lifecycle.MergeEnv(env, []string{EnvProcessRole + "=" + ProcessRoleHealthCheck}),
		}
		if len(hc.Command) > 0 {
			spec.Path, spec.Args = hc.Command[0], append([]string(nil), hc.Command[1:]...)
		}
		return &lifecycle.ExecChecker{Runner: run, Spec: spec, Timeout: timeout}
	case model.HealthCheckHTTP:
		return &lifecycle.HTTPChecker{Addr: probeAddr(info, hc.Port), Port: hc.Port, Path: hc.Path, Timeout: timeout}
	}
	return &lifecycle.TCPChecker{Addr: probeAddr(info, hc.Port), Port: hc.Port, Timeout: timeout}
}

// probeAddr is where this node reaches a container port: the runtime's
// probe address, else the mapped host port, else the container address.
func probeAddr(info ContainerInfo, port uint16) string {
	if a, ok := info.ProbeAddrs[port]; ok && a != "" {
		return a
	}
	if hp := info.NetInfo.HostPort(port); hp != 0 {
		return joinHostPort(info.NetInfo.Address, hp)
	}
	return net.JoinHostPort(info.NetInfo.InstanceAddress, strconv.Itoa(int(port)))
}

// extractor unpacks downloads into the container, if the runtime exposes
// its filesystem.
func (c *Cell) extractor(id string) lifecycle.Extractor {
	fs, ok := c.rt.(FileSystem)
	if !ok {
		return nil
	}
	return extractorFunc(func(ctx context.Context, archivePath, to string) error {
		root, err := fs.ContainerRoot(ctx, id)
		if err != nil {
			return err
		}
		return (&lifecycle.DirExtractor{Root: root}).Extract(ctx, archivePath, to)
	})
}

type extractorFunc func(ctx context.Context, archivePath, to string) error

func (f extractorFunc) Extract(ctx context.Context, archivePath, to string) error {
	return f(ctx, archivePath, to)
}

// output returns line writers that put a process's stdout and stderr into
// the log store under source.
func (c *Cell) output(in *instance, source string) (io.Writer, io.Writer) {
	mk := func(stream string) *lineWriter {
		return newLineWriter(func(text string) { c.appendLine(in, source, stream, text) })
	}
	out, errw := mk(model.StreamOut), mk(model.StreamErr)
	in.mu.Lock()
	in.writers = append(in.writers, out, errw)
	in.mu.Unlock()
	return out, errw
}

func (c *Cell) appendLine(in *instance, source, stream, text string) {
	c.logs.AppendLog(model.LogLine{
		Time:         time.Now(),
		ProcessGUID:  in.key.ProcessGUID,
		Index:        in.key.Index,
		InstanceGUID: in.guid,
		Source:       source,
		Stream:       stream,
		Text:         text,
	})
}

// cellLine writes a lifecycle line under the LRP's log source (CELL).
func (c *Cell) cellLine(in *instance, text string) {
	source := in.desired.LogSource
	if source == "" {
		source = model.LogSourceCell
	}
	c.appendLine(in, source, model.StreamOut, text)
}

// healthLine writes a health check failure under HEALTH.
func (c *Cell) healthLine(in *instance, text string) {
	c.appendLine(in, model.LogSourceHealth, model.StreamErr, text)
}
