package cell

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/diegod/diegod/lifecycle"
	"github.com/diegod/diegod/model"
)

// LabelKindTask is the kind label of a task container.
const LabelKindTask = "task"

// logTaskGUID is the log field key of a task guid.
const logTaskGUID = "task_guid"

// resultReadTimeout bounds reading a task's result file.
const resultReadTimeout = 30 * time.Second

// ResultReader is an optional Runtime ability: read a file from a
// container's filesystem (a task's result_file). Without it the cell reads
// through FileSystem when the runtime has it, else by running /bin/cat in
// the container.
type ResultReader interface {
	// ReadFile returns the contents of the absolute path in container id.
	// A file larger than max bytes fails with an error wrapping
	// ErrFileTooLarge.
	ReadFile(ctx context.Context, id, path string, max int) ([]byte, error)
}

// taskTable is the task runs a cell holds, by container id (one per
// placement, TaskContainerID). The zero value is ready; Cell.Run sets the
// start time before anything is placed on the cell.
type taskTable struct {
	mu      sync.Mutex
	started time.Time
	runs    map[string]*taskRun
}

func (tt *taskTable) setStarted(t time.Time) {
	tt.mu.Lock()
	defer tt.mu.Unlock()
	tt.started = t
}

// observed returns every held run, for DiffTasks, and the start time.
func (tt *taskTable) observed() (map[string]ObservedTask, time.Time) {
	tt.mu.Lock()
	defer tt.mu.Unlock()
	out := make(map[string]ObservedTask, len(tt.runs))
	for id, r := range tt.runs {
		out[id] = ObservedTask{TaskGUID: r.task.TaskGUID, Phase: r.getPhase()}
	}
	return out, tt.started
}

func (tt *taskTable) get(id string) *taskRun {
	tt.mu.Lock()
	defer tt.mu.Unlock()
	return tt.runs[id]
}

// add registers r unless its container id is held; it reports whether it
// did.
func (tt *taskTable) add(r *taskRun) bool {
	tt.mu.Lock()
	defer tt.mu.Unlock()
	if tt.runs == nil {
		tt.runs = map[string]*taskRun{}
	}
	if _, ok := tt.runs[r.id]; ok {
		return false
	}
	tt.runs[r.id] = r
	return true
}

// forget drops a finished run.
func (tt *taskTable) forget(id string) {
	tt.mu.Lock()
	defer tt.mu.Unlock()
	if r, ok := tt.runs[id]; ok && r.getPhase() == PhaseFinished {
		delete(tt.runs, id)
	}
}

func (tt *taskTable) all() []*taskRun {
	tt.mu.Lock()
	defer tt.mu.Unlock()
	out := make([]*taskRun, 0, len(tt.runs))
	for _, r := range tt.runs {
		out = append(out, r)
	}
	return out
}

// taskRun is one placement of a task the cell runs: a container and the
// goroutine that runs its action.
type taskRun struct {
	id     string // container id
	task   model.Task
	cancel context.CancelFunc

	mu      sync.Mutex
	phase   Phase
	stopped bool // the task left the cell: report nothing
	writers []*lineWriter
}

func (r *taskRun) getPhase() Phase {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.phase
}

// requestStop marks the run stopping; it reports whether it was active.
func (r *taskRun) requestStop() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stopped = true
	if r.phase != PhaseActive {
		return false
	}
	r.phase = PhaseStopping
	return true
}

func (r *taskRun) stopRequested() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stopped
}

// reported marks an active run stopping once its outcome is reported: the
// placement then leaves the cell, and the container goes away without a
// stop.
func (r *taskRun) reported() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.phase == PhaseActive {
		r.phase = PhaseStopping
	}
}

// applyTasks runs the task part of an assignment: DiffTasks, then each
// action.
func (c *Cell) applyTasks(instCtx context.Context, a Assignment) {
	observed, started := c.tasks.observed()
	for _, act := range DiffTasks(a.Tasks, observed, c.cfg.CellID, started) {
		switch act.Kind {
		case TaskActionStart:
			c.startTask(instCtx, act.Task)
		case TaskActionStop:
			c.stopTask(act.ContainerID)
		case TaskActionOrphan:
			c.log.Info().Str(logTaskGUID, act.TaskGUID).Msg("task without container")
			c.reportOnce(instCtx, "task:"+act.ContainerID, model.CompleteTask{TaskGUID: act.TaskGUID, CellID: c.cfg.CellID,
				Failed: true, FailureReason: model.TaskReasonNoContainer})
		case TaskActionForget:
			c.tasks.forget(act.ContainerID)
		}
	}
}

// startTask spawns the goroutine of a task.
func (c *Cell) startTask(instCtx context.Context, t model.Task) {
	ctx, cancel := context.WithCancel(instCtx)
	r := &taskRun{id: TaskContainerID(t), task: t, cancel: cancel}
	if !c.tasks.add(r) {
		cancel()
		return
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		defer cancel()
		c.runTask(ctx, r)
	}()
}

// stopTask stops the run whose placement left the cell: its steps are
// cancelled (SIGTERM, grace, SIGKILL) and its container destroyed. Nothing
// is reported.
func (c *Cell) stopTask(id string) {
	r := c.tasks.get(id)
	if r == nil || !r.requestStop() {
		return
	}
	c.metrics.stops.Inc()
	c.taskLine(r, fmt.Sprintf("Cell %s stopping task %s", c.cfg.CellID, r.task.TaskGUID))
	r.cancel()
}

// stopTasks stops every task without reporting (the cell is shutting
// down); the caller waits for c.wg.
func (c *Cell) stopTasks() {
	for _, r := range c.tasks.all() {
		r.requestStop()
		r.cancel()
	}
}

// runTask is the life of one task: create the container, run the action,
// read the result file, report, destroy (spec §6.2). A failure before any
// process was started (container creation, downloads) is retryable: the
// task is rejected rather than completed.
func (c *Cell) runTask(ctx context.Context, r *taskRun) {
	t := r.task
	log := c.log.With().Str(logTaskGUID, t.TaskGUID).Logger()
	defer func() {
		r.mu.Lock()
		writers := r.writers
		r.phase = PhaseFinished
		r.mu.Unlock()
		for _, w := range writers {
			w.Flush()
		}
	}()

	c.taskLine(r, fmt.Sprintf("Cell %s creating container for task %s", c.cfg.CellID, t.TaskGUID))
	info, err := c.rt.Create(ctx, taskContainerSpec(r.id, t))
	if err != nil {
		c.metrics.createFailures.Inc()
		log.Warn().Err(err).Msg("create task container failed")
		c.taskLine(r, fmt.Sprintf("Cell %s failed to create container for task %s: %v", c.cfg.CellID, t.TaskGUID, err))
		c.destroyTask(r, r.id, false)
		if !r.stopRequested() {
			c.reportTask(ctx, r, model.RejectTask{TaskGUID: t.TaskGUID, CellID: c.cfg.CellID,
				Reason: "failed to create container: " + err.Error()}, log)
		}
		return
	}
	c.taskLine(r, fmt.Sprintf("Cell %s successfully created container for task %s", c.cfg.CellID, t.TaskGUID))
	c.metrics.containers.Inc()
	defer c.destroyTask(r, info.ID, true)

	var started atomic.Bool
	step, err := c.taskSteps(r, info, &started, log)
	var runErr error
	if err == nil {
		runErr = step.Run(ctx)
	} else {
		runErr = &lifecycle.UserError{Message: "failed to build actions: " + err.Error(), Err: err}
	}
	switch {
	case r.stopRequested():
		log.Info().Msg("task stopped")
	case runErr != nil && !started.Load():
		reason := lifecycle.Reason(runErr)
		log.Info().Str(logReason, reason).Msg("task failed before it ran, rejecting")
		c.reportTask(ctx, r, model.RejectTask{TaskGUID: t.TaskGUID, CellID: c.cfg.CellID, Reason: reason}, log)
	case runErr != nil:
		reason := lifecycle.Reason(runErr)
		log.Info().Str(logReason, reason).Msg("task failed")
		c.reportTask(ctx, r, model.CompleteTask{TaskGUID: t.TaskGUID, CellID: c.cfg.CellID, Failed: true,
			FailureReason: model.Truncate(reason, model.MaxReasonSize)}, log)
	default:
		result, failure := c.taskResult(ctx, info.ID, t)
		if failure != "" {
			c.taskLine(r, failure)
			c.reportTask(ctx, r, model.CompleteTask{TaskGUID: t.TaskGUID, CellID: c.cfg.CellID, Failed: true,
				FailureReason: model.Truncate(failure, model.MaxReasonSize)}, log)
			return
		}
		log.Info().Msg("task succeeded")
		c.reportTask(ctx, r, model.CompleteTask{TaskGUID: t.TaskGUID, CellID: c.cfg.CellID, Result: result}, log)
	}
}

// reportTask reports a task's outcome unless the task left the cell.
func (c *Cell) reportTask(ctx context.Context, r *taskRun, cmd model.Command, log zerolog.Logger) {
	if r.stopRequested() {
		return
	}
	err := c.report(ctx, cmd)
	r.reported()
	if err != nil && ctx.Err() == nil {
		log.Info().Err(err).Str(logCommand, cmd.CommandName()).Msg("task report refused")
	}
}

// taskContainerSpec is the container id runs a placement of t in.
func taskContainerSpec(id string, t model.Task) ContainerSpec {
	return ContainerSpec{
		ID: id,
		Labels: map[string]string{
			LabelTaskGUID: t.TaskGUID,
			LabelKind:     LabelKindTask,
		},
		RootFS: t.RootFS,
		Limits: Limits{MemoryMB: t.MemoryMB, DiskMB: t.DiskMB, CPUWeight: t.CPUWeight, MaxPids: t.MaxPids},
		Env:    lifecycle.EnvFromMap(t.Env),
	}
}

// TaskEnv returns the environment of a task's processes: the cell and
// container addresses (CF_INSTANCE_IP, CF_INSTANCE_INTERNAL_IP), then the
// task's own env (which may override them).
func TaskEnv(t model.Task, net model.ActualLRPNetInfo) []string {
	return lifecycle.MergeEnv([]string{"CF_INSTANCE_IP=" + net.Address, "CF_INSTANCE_INTERNAL_IP=" + net.InstanceAddress},
		lifecycle.EnvFromMap(t.Env))
}

// taskSteps builds the task's action; started is set as soon as a process
// start is attempted, which tells a failure of the task from a failure to
// prepare it.
func (c *Cell) taskSteps(r *taskRun, info ContainerInfo, started *atomic.Bool, log zerolog.Logger) (lifecycle.Step, error) {
	t := r.task
	if t.Action == nil {
		return nil, fmt.Errorf("%w: the task has no action", lifecycle.ErrInvalidAction)
	}
	run := runner{rt: c.rt, id: info.ID}
	env := lifecycle.BuildEnv{
		Runner: lifecycle.ProcessRunnerFunc(func(ctx context.Context, spec lifecycle.ProcessSpec) (lifecycle.Process, error) {
			started.Store(true)
			return run.Run(ctx, spec)
		}),
		Extractor:        c.extractor(info.ID),
		DownloadSlots:    c.slots,
		Env:              TaskEnv(t, info.NetInfo),
		DefaultLogSource: model.LogSourceTask + "/" + t.TaskGUID,
		Output:           func(source string) (io.Writer, io.Writer) { return c.taskOutput(r, source) },
		Grace:            c.cfg.StopGrace,
		Log:              log,
	}
	return lifecycle.Build(*t.Action, env)
}

// taskResult reads the task's result file, if it names one. It returns
// the result, or the failure reason when the file cannot be read or is
// larger than model.MaxTaskResultSize.
func (c *Cell) taskResult(ctx context.Context, id string, t model.Task) (result, failure string) {
	if t.ResultFile == "" {
		return "", ""
	}
	ctx, cancel := context.WithTimeout(ctx, resultReadTimeout)
	defer cancel()
	user := ""
	if t.Action != nil {
		if run := t.Action.FirstRun(); run != nil {
			user = run.User
		}
	}
	data, err := c.readContainerFile(ctx, id, t.ResultFile, model.MaxTaskResultSize, user)
	switch {
	case errors.Is(err, ErrFileTooLarge):
		return "", fmt.Sprintf("result file %s is larger than the %d byte limit", t.ResultFile, model.MaxTaskResultSize)
	case err != nil:
		return "", fmt.Sprintf("failed to read result file %s: %v", t.ResultFile, err)
	}
	return string(data), ""
}

// destroyTask removes a task's container; counted says whether it was
// counted as held.
func (c *Cell) destroyTask(r *taskRun, id string, counted bool) {
	if counted {
		c.taskLine(r, fmt.Sprintf("Cell %s destroying container for task %s", c.cfg.CellID, r.task.TaskGUID))
	}
	ctx, cancel := context.WithTimeout(context.Background(), destroyTimeout)
	defer cancel()
	if err := c.rt.Destroy(ctx, id); err != nil {
		c.log.Warn().Err(err).Str(logContainerID, id).Msg("destroy task container failed")
	} else if counted {
		c.taskLine(r, fmt.Sprintf("Cell %s successfully destroyed container for task %s", c.cfg.CellID, r.task.TaskGUID))
	}
	if counted {
		c.metrics.containers.Dec()
	}
}

// taskOutput returns line writers that put a task process's output into
// the log store under source: [APP/TASK/<guid>] OUT ...
func (c *Cell) taskOutput(r *taskRun, source string) (io.Writer, io.Writer) {
	mk := func(stream string) *lineWriter {
		return newLineWriter(func(text string) { c.appendTaskLine(r, source, stream, text) })
	}
	out, errw := mk(model.StreamOut), mk(model.StreamErr)
	r.mu.Lock()
	r.writers = append(r.writers, out, errw)
	r.mu.Unlock()
	return out, errw
}

func (c *Cell) appendTaskLine(r *taskRun, source, stream, text string) {
	c.logs.AppendLog(model.LogLine{
		Time:         time.Now(),
		ProcessGUID:  r.task.TaskGUID,
		Index:        model.LogNoIndex,
		InstanceGUID: r.task.TaskGUID,
		Source:       source,
		Stream:       stream,
		Text:         text,
	})
}

// taskLine writes a lifecycle line under the task's log source (CELL).
func (c *Cell) taskLine(r *taskRun, text string) {
	source := r.task.LogSource
	if source == "" {
		source = model.LogSourceCell
	}
	c.appendTaskLine(r, source, model.StreamOut, text)
}
