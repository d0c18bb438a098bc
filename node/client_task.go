package node

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/diegod/diegod/model"
)

// SubmitTask desires a task.
func (c *Client) SubmitTask(ctx context.Context, spec model.TaskSpec) (TaskResult, error) {
	var r TaskResult
	return r, c.do(ctx, http.MethodPost, "/v1/tasks", spec, &r)
}

// Tasks lists the tasks, only those in state when it is not empty.
func (c *Client) Tasks(ctx context.Context, state model.TaskState) ([]model.Task, error) {
	path := "/v1/tasks"
	if state != "" {
		path += "?state=" + url.QueryEscape(string(state))
	}
	var r []model.Task
	return r, c.do(ctx, http.MethodGet, path, nil, &r)
}

// Task returns a task and the index of the view it was read from. With
// index > 0 it blocks until the state has moved past index or wait runs
// out.
func (c *Client) Task(ctx context.Context, guid string, index uint64, wait time.Duration) (model.Task, uint64, error) {
	var t model.Task
	path := "/v1/tasks/" + url.PathEscape(guid)
	if index > 0 {
		path += fmt.Sprintf("?index=%d&wait=%s", index, wait)
	}
	resp, err := c.request(ctx, http.MethodGet, path, nil)
	if err != nil {
		return t, 0, err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&t); err != nil {
		return t, 0, fmt.Errorf("GET %s: decode response: %w", path, err)
	}
	idx, _ := strconv.ParseUint(resp.Header.Get("X-Diegod-Index"), 10, 64)
	return t, idx, nil
}

// CancelTask cancels a PENDING or RUNNING task.
func (c *Client) CancelTask(ctx context.Context, guid string) (TaskResult, error) {
	var r TaskResult
	return r, c.do(ctx, http.MethodPost, "/v1/tasks/"+url.PathEscape(guid)+"/cancel", nil, &r)
}

// DeleteTask resolves and deletes a COMPLETED (or RESOLVING) task.
func (c *Client) DeleteTask(ctx context.Context, guid string) (TaskResult, error) {
	var r TaskResult
	return r, c.do(ctx, http.MethodDelete, "/v1/tasks/"+url.PathEscape(guid), nil, &r)
}
