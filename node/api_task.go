package node

import (
	"net/http"

	"github.com/diegod/diegod/model"
)

// TaskResult answers a successful task write: the task guid and the Raft
// index that applied it.
type TaskResult struct {
	TaskGUID string `json:"task_guid"`
	Index    uint64 `json:"index"`
}

// registerTaskRoutes adds the task API to mux (the authenticated /v1 mux):
//
//	POST   /v1/tasks               desire a task (body: a task spec)      201 TaskResult
//	GET    /v1/tasks[?state=S]     list tasks, optionally in one state    200 []model.Task
//	GET    /v1/tasks/{guid}        one task (?index=N&wait=D blocks)      200 model.Task
//	POST   /v1/tasks/{guid}/cancel cancel a PENDING or RUNNING task       200 TaskResult
//	DELETE /v1/tasks/{guid}        resolve and delete a finished task     200 TaskResult
//
// Reads set X-Diegod-Index to the view's index.
func (a *api) registerTaskRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /v1/tasks", a.desireTask)
	mux.HandleFunc("GET /v1/tasks", a.listTasks)
	mux.HandleFunc("GET /v1/tasks/{guid}", a.getTask)
	mux.HandleFunc("POST /v1/tasks/{guid}/cancel", a.cancelTask)
	mux.HandleFunc("DELETE /v1/tasks/{guid}", a.deleteTask)
}

func (a *api) desireTask(w http.ResponseWriter, r *http.Request) {
	var spec model.TaskSpec
	if err := a.decodeBody(w, r, &spec); err != nil {
		writeError(w, err)
		return
	}
	spec.Normalize()
	if err := spec.Validate(); err != nil {
		writeError(w, err)
		return
	}
	idx, err := a.prop.Propose(r.Context(), model.DesireTask{Task: spec})
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, TaskResult{TaskGUID: spec.TaskGUID, Index: idx})
}

func (a *api) listTasks(w http.ResponseWriter, r *http.Request) {
	var state model.TaskState
	if s := r.URL.Query().Get("state"); s != "" {
		st, ok := model.ParseTaskState(s)
		if !ok {
			writeError(w, model.Errorf(model.CodeInvalidRequest, "state: %q is not PENDING, RUNNING, COMPLETED or RESOLVING", s))
			return
		}
		state = st
	}
	v := a.blockingView(r)
	out := []model.Task{}
	for _, t := range v.Tasks() {
		if state == "" || t.State == state {
			out = append(out, t)
		}
	}
	w.Header().Set("X-Diegod-Index", uitoa(v.Index()))
	writeJSON(w, http.StatusOK, out)
}

func (a *api) getTask(w http.ResponseWriter, r *http.Request) {
	guid := r.PathValue("guid")
	v := a.blockingView(r)
	t, ok := v.Task(guid)
	if !ok {
		writeError(w, model.Errorf(model.CodeNotFound, "task %s not found", guid))
		return
	}
	w.Header().Set("X-Diegod-Index", uitoa(v.Index()))
	writeJSON(w, http.StatusOK, t)
}

func (a *api) cancelTask(w http.ResponseWriter, r *http.Request) {
	guid := r.PathValue("guid")
	idx, err := a.prop.Propose(r.Context(), model.CancelTask{TaskGUID: guid})
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, TaskResult{TaskGUID: guid, Index: idx})
}

// deleteTask resolves a COMPLETED task and deletes it (Diego's consumer
// does ResolvingTask then DeleteTask); a RESOLVING one is just deleted.
// A task still PENDING or RUNNING must be cancelled first.
func (a *api) deleteTask(w http.ResponseWriter, r *http.Request) {
	guid := r.PathValue("guid")
	t, ok := a.store.View().Task(guid)
	if !ok {
		writeError(w, model.Errorf(model.CodeNotFound, "task %s not found", guid))
		return
	}
	switch t.State {
	case model.TaskPending, model.TaskRunning:
		writeError(w, model.Errorf(model.CodeInvalidTransition, "task %s is %s: cancel it first", guid, t.State))
		return
	case model.TaskCompleted:
		if _, err := a.prop.Propose(r.Context(), model.ResolvingTask{TaskGUID: guid}); err != nil {
			writeError(w, err)
			return
		}
	}
	idx, err := a.prop.Propose(r.Context(), model.DeleteTask{TaskGUID: guid})
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, TaskResult{TaskGUID: guid, Index: idx})
}
