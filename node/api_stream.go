package node

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/diegod/diegod/model"
)

// eventBuffer is how many log entries an SSE subscriber may fall behind
// before the stream is closed (Diego closes slow consumers too).
const eventBuffer = 1024

// events streams committed events as server-sent events: `id:` counts per
// connection, `event:` is the type, `data:` the JSON event. ?process_guid=
// and ?cell_id= filter. The stream ends when the client falls behind; the
// client resubscribes and re-reads the state.
func (a *api) events(w http.ResponseWriter, r *http.Request) {
	fl, ok := w.(http.Flusher)
	if !ok {
		writeError(w, model.Errorf(model.CodeInternal, "streaming unsupported"))
		return
	}
	guid, cellID := r.URL.Query().Get("process_guid"), r.URL.Query().Get("cell_id")
	ch := a.store.Subscribe(r.Context(), eventBuffer)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	fl.Flush()
	var id uint64
	for batch := range ch {
		for i := range batch {
			ev := &batch[i]
			if guid != "" && ev.ProcessGUID() != guid || cellID != "" && ev.CellID() != cellID {
				continue
			}
			data, err := json.Marshal(ev)
			if err != nil {
				return
			}
			if _, err := fmt.Fprintf(w, "id: %d\nevent: %s\ndata: %s\n\n", id, ev.Type, data); err != nil {
				return
			}
			id++
		}
		fl.Flush()
	}
}

// streamLogs writes the log lines of an LRP as JSON lines: the recent ones
// with ?recent=true (the default without follow), then, with ?follow=true,
// every new line until the client goes away.
func (a *api) streamLogs(w http.ResponseWriter, r *http.Request) {
	guid := r.PathValue("guid")
	q := r.URL.Query()
	follow := q.Get("follow") == "true"
	recent := q.Get("recent") == "true" || !follow
	if a.logs == nil {
		writeError(w, model.Errorf(model.CodeUnavailable, "this node has no cell and keeps no logs"))
		return
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	enc := json.NewEncoder(w)
	var ch <-chan model.LogLine
	if follow {
		ch = a.logs.Follow(r.Context(), guid)
	}
	if recent {
		for _, l := range a.logs.Recent(guid) {
			if enc.Encode(l) != nil {
				return
			}
		}
	}
	fl, _ := w.(http.Flusher)
	if fl != nil {
		fl.Flush()
	}
	if !follow {
		return
	}
	for l := range ch {
		if enc.Encode(l) != nil {
			return
		}
		if fl != nil && len(ch) == 0 {
			fl.Flush()
		}
	}
}
