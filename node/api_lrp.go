package node

import (
	"net/http"
	"sort"

	"github.com/diegod/diegod/model"
)

func (a *api) desireLRP(w http.ResponseWriter, r *http.Request) {
	var lrp model.DesiredLRP
	if err := a.decodeBody(w, r, &lrp); err != nil {
		writeError(w, err)
		return
	}
	lrp.Normalize()
	if err := lrp.Validate(); err != nil {
		writeError(w, err)
		return
	}
	lrp.ModificationTag = model.ModificationTag{}
	idx, err := a.prop.Propose(r.Context(), model.DesireLRP{LRP: lrp})
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, SubmitResult{ProcessGUID: lrp.ProcessGUID, Index: idx})
}

func (a *api) listLRPs(w http.ResponseWriter, r *http.Request) {
	v := a.blockingView(r)
	out := []LRPSummary{}
	for _, d := range v.DesiredLRPs() {
		out = append(out, summarize(d, v.ActualLRPsByProcess(d.ProcessGUID)))
	}
	w.Header().Set("X-Diegod-Index", uitoa(v.Index()))
	writeJSON(w, http.StatusOK, out)
}

// summarize counts the ORDINARY rows of an LRP by state. SUSPECT and
// EVACUATING copies are not counted: they stand in for ordinary rows that
// are being replaced.
func summarize(d model.DesiredLRP, rows []model.ActualLRP) LRPSummary {
	s := LRPSummary{ProcessGUID: d.ProcessGUID, Desired: d.Instances, MemoryMB: d.MemoryMB,
		DiskMB: d.DiskMB, Routes: append([]string{}, d.Routes...)}
	for _, row := range rows {
		if row.Presence != model.PresenceOrdinary || row.Index >= d.Instances {
			continue
		}
		switch row.State {
		case model.StateRunning:
			s.Running++
		case model.StateClaimed:
			s.Starting++
		case model.StateCrashed:
			s.Crashed++
		case model.StateUnclaimed:
			if row.PlacementError != "" {
				s.Unplaced++
				s.PlacementError = row.PlacementError
			} else {
				s.Starting++
			}
		}
	}
	return s
}

func (a *api) getLRP(w http.ResponseWriter, r *http.Request) {
	guid := r.PathValue("guid")
	v := a.blockingView(r)
	d, ok := v.DesiredLRP(guid)
	if !ok {
		writeError(w, model.Errorf(model.CodeNotFound, "lrp %s not found", guid))
		return
	}
	rows := v.ActualLRPsByProcess(guid)
	sort.SliceStable(rows, func(i, j int) bool {
		if rows[i].Index != rows[j].Index {
			return rows[i].Index < rows[j].Index
		}
		return presenceOrder(rows[i].Presence) < presenceOrder(rows[j].Presence)
	})
	st := LRPStatus{Desired: d, Instances: make([]InstanceStatus, 0, len(rows)), Index: v.Index()}
	for _, row := range rows {
		is := InstanceStatus{ActualLRP: row}
		if a.metrics != nil && row.InstanceGUID != "" {
			if m, ok := a.metrics.InstanceMetrics(row.InstanceGUID); ok {
				is.Metrics = &m
			}
		}
		st.Instances = append(st.Instances, is)
	}
	w.Header().Set("X-Diegod-Index", uitoa(v.Index()))
	writeJSON(w, http.StatusOK, st)
}

func presenceOrder(p model.Presence) int {
	switch p {
	case model.PresenceOrdinary:
		return 0
	case model.PresenceEvacuating:
		return 1
	}
	return 2
}

func (a *api) updateLRP(w http.ResponseWriter, r *http.Request) {
	guid := r.PathValue("guid")
	var u model.DesiredLRPUpdate
	if err := a.decodeBody(w, r, &u); err != nil {
		writeError(w, err)
		return
	}
	d, ok := a.store.View().DesiredLRP(guid)
	if !ok {
		writeError(w, model.Errorf(model.CodeNotFound, "lrp %s not found", guid))
		return
	}
	if err := u.Validate(len(d.Ports)); err != nil {
		writeError(w, err)
		return
	}
	idx, err := a.prop.Propose(r.Context(), model.UpdateDesiredLRP{ProcessGUID: guid, Update: u})
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, SubmitResult{ProcessGUID: guid, Index: idx})
}

func (a *api) removeLRP(w http.ResponseWriter, r *http.Request) {
	guid := r.PathValue("guid")
	idx, err := a.prop.Propose(r.Context(), model.RemoveDesiredLRP{ProcessGUID: guid})
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, SubmitResult{ProcessGUID: guid, Index: idx})
}

func (a *api) listCells(w http.ResponseWriter, r *http.Request) {
	v := a.blockingView(r)
	alloc := v.CellAllocations()
	out := []CellStatus{}
	for _, c := range v.Cells() {
		out = append(out, CellStatus{Cell: c, Allocated: alloc[c.CellID]})
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *api) listMembers(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, a.members())
}

func uitoa(n uint64) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(b[i:])
		}
	}
}
