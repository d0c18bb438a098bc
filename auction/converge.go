package auction

import (
	"sort"
	"time"

	"github.com/diegod/diegod/model"
)

// DefaultStaleUnclaimedDuration is Diego's hard-coded age after which an
// UNCLAIMED row is auctioned again (spec §3 step 3).
const DefaultStaleUnclaimedDuration = 30 * time.Second

// ConvergeConfig tunes Converge.
type ConvergeConfig struct {
	// StaleUnclaimedDuration is how long an UNCLAIMED row with a placement
	// error waits before it is retried (and how long one without an error
	// may wait for an auction before the runner is asked for one).
	StaleUnclaimedDuration time.Duration
}

// ConvergeStats are the counts of one pass, for metrics (spec §3 step 11).
// Row counts are of ORDINARY rows whose DesiredLRP exists, unless noted.
type ConvergeStats struct {
	Desired      int // sum of DesiredLRP instances
	Running      int
	Claimed      int
	Unclaimed    int
	Crashed      int
	Missing      int // indices in [0,instances) with no ORDINARY row
	Extra        int // ORDINARY rows with index >= instances
	Orphaned     int // rows of any presence with no DesiredLRP
	Suspect      int // SUSPECT rows
	Evacuating   int // EVACUATING rows
	PresentCells int // cells that are not LOST
}

// ConvergeResult is what one pass decided.
type ConvergeResult struct {
	// Commands to propose, in a deterministic order. Each is independent of
	// the others; the store re-checks each and rejects stale ones.
	Commands []model.Command
	// NextWake is the earliest time after now at which a CRASHED row's
	// backoff ends or an UNCLAIMED row with a placement error becomes stale;
	// zero when there is none. Waking then gives restarts to-the-second
	// instead of Diego's 30 s convergence granularity.
	NextWake time.Time
	// AuctionNeeded reports UNCLAIMED rows without a placement error that
	// have waited longer than StaleUnclaimedDuration: their auction was lost
	// (for example skipped as stale at commit), so the runner should run one.
	AuctionNeeded bool
	Stats         ConvergeStats
}

// keyRows holds the rows of one (process_guid, index), one per presence.
type keyRows struct {
	ord, evac, susp *model.ActualLRP
}

// Converge is the LRP convergence pass (spec §3) over one snapshot, in
// diegod's command catalogue. It is pure: time comes in as now.
//
// Per key, in order:
//   - no DesiredLRP (orphan) → RetireActualLRP for every row, any presence;
//   - index >= instances (extra) → RetireActualLRP for every row;
//   - EVACUATING row on a cell that is LOST or unknown → RetireActualLRP;
//   - ORDINARY UNCLAIMED with a placement error older than the stale
//     duration → one RetryPlacement for all such keys;
//   - ORDINARY CLAIMED/RUNNING on a LOST or unknown cell → SuspectActualLRP,
//     or UnclaimActualLRP when a SUSPECT already exists (the ordinary row is
//     then an earlier replacement);
//   - ORDINARY CRASHED whose backoff has passed → UnclaimActualLRP with an
//     empty instance key;
//   - no ORDINARY row for an index in [0,instances) → CreateMissingActualLRP;
//   - SUSPECT when the ORDINARY row is RUNNING on a present cell → retire the
//     suspect (whatever its state: the replacement serves); otherwise a
//     SUSPECT whose cell is present again → PromoteSuspectActualLRP.
//
// Retiring is not gated on domain freshness as Diego's is (spec §1.5):
// diegod's desired set lives in the same Raft log as the actual rows, so it
// cannot be lost while the rows survive, and an empty desired set really
// means nothing should run.
func Converge(s Snapshot, now time.Time, cfg ConvergeConfig) ConvergeResult {
	var res ConvergeResult
	cellState := make(map[string]model.CellState, len(s.Cells))
	for _, c := range s.Cells {
		cellState[c.CellID] = c.State
		if c.Present() {
			res.Stats.PresentCells++
		}
	}
	present := func(id string) bool {
		st, ok := cellState[id]
		return ok && st != model.CellLost
	}

	desired := make(map[string]*model.DesiredLRP, len(s.Desired))
	for i := range s.Desired {
		d := &s.Desired[i]
		desired[d.ProcessGUID] = d
		res.Stats.Desired += d.Instances
	}
	byProcess := map[string]map[int]*keyRows{}
	for i := range s.Actuals {
		a := &s.Actuals[i]
		idx := byProcess[a.ProcessGUID]
		if idx == nil {
			idx = map[int]*keyRows{}
			byProcess[a.ProcessGUID] = idx
		}
		kr := idx[a.Index]
		if kr == nil {
			kr = &keyRows{}
			idx[a.Index] = kr
		}
		switch a.Presence {
		case model.PresenceEvacuating:
			kr.evac = a
		case model.PresenceSuspect:
			kr.susp = a
		default:
			kr.ord = a
		}
	}

	guids := make([]string, 0, len(byProcess)+len(desired))
	for g := range byProcess {
		guids = append(guids, g)
	}
	for g := range desired {
		if _, ok := byProcess[g]; !ok {
			guids = append(guids, g)
		}
	}
	sort.Strings(guids)

	c := &converger{now: now, cfg: cfg, present: present, res: &res}
	for _, g := range guids {
		c.process(g, desired[g], byProcess[g])
	}
	if len(c.retry) > 0 {
		res.Commands = append(res.Commands, model.RetryPlacement{Keys: c.retry})
	}
	return res
}

// converger carries one Converge pass.
type converger struct {
	now     time.Time
	cfg     ConvergeConfig
	present func(string) bool
	res     *ConvergeResult
	retry   []model.ActualLRPKey
}

func (c *converger) emit(cmd model.Command) { c.res.Commands = append(c.res.Commands, cmd) }

func (c *converger) wakeAt(t time.Time) {
	if !t.After(c.now) {
		return
	}
	if c.res.NextWake.IsZero() || t.Before(c.res.NextWake) {
		c.res.NextWake = t
	}
}

// process converges every index of one process guid.
func (c *converger) process(guid string, d *model.DesiredLRP, rows map[int]*keyRows) {
	indices := make([]int, 0, len(rows))
	for i := range rows {
		indices = append(indices, i)
	}
	sort.Ints(indices)
	if d == nil {
		for _, i := range indices {
			c.retireAll(rows[i], &c.res.Stats.Orphaned)
		}
		return
	}
	next := 0 // indices [0,next) of the desired range are done
	for _, i := range indices {
		for ; next < i && next < d.Instances; next++ {
			c.missing(d, next)
		}
		if i >= d.Instances {
			if rows[i].ord != nil {
				c.res.Stats.Extra++
			}
			c.retireAll(rows[i], nil)
			continue
		}
		c.key(d, i, rows[i])
		next = i + 1
	}
	for ; next < d.Instances; next++ {
		c.missing(d, next)
	}
}

func (c *converger) missing(d *model.DesiredLRP, index int) {
	c.res.Stats.Missing++
	c.emit(model.CreateMissingActualLRP{Key: model.ActualLRPKey{ProcessGUID: d.ProcessGUID, Index: index, Domain: d.Domain}})
}

// retireAll retires every row of a key; counter, when set, counts the rows.
func (c *converger) retireAll(kr *keyRows, counter *int) {
	for _, a := range []*model.ActualLRP{kr.ord, kr.evac, kr.susp} {
		if a == nil {
			continue
		}
		if counter != nil {
			*counter++
		}
		c.emit(model.RetireActualLRP{Key: a.ActualLRPKey, Presence: a.Presence})
	}
}

// key converges the rows of one desired index.
func (c *converger) key(d *model.DesiredLRP, index int, kr *keyRows) {
	if kr.evac != nil {
		c.res.Stats.Evacuating++
		if !c.present(kr.evac.CellID) {
			c.emit(model.RetireActualLRP{Key: kr.evac.ActualLRPKey, Presence: model.PresenceEvacuating})
		}
	}
	if kr.susp != nil {
		c.res.Stats.Suspect++
	}
	ord := kr.ord
	if ord == nil {
		c.missing(d, index)
	} else {
		c.ordinary(ord, kr.susp != nil)
	}
	if kr.susp != nil {
		switch {
		case ord != nil && ord.State == model.StateRunning && c.present(ord.CellID):
			c.emit(model.RetireActualLRP{Key: kr.susp.ActualLRPKey, Presence: model.PresenceSuspect})
		case c.present(kr.susp.CellID):
			c.emit(model.PromoteSuspectActualLRP{Key: kr.susp.ActualLRPKey})
		}
	}
}

// ordinary converges the ORDINARY row of a desired index.
func (c *converger) ordinary(a *model.ActualLRP, hasSuspect bool) {
	stale := c.cfg.StaleUnclaimedDuration
	switch a.State {
	case model.StateUnclaimed:
		c.res.Stats.Unclaimed++
		staleAt := a.Since.Add(stale)
		if a.PlacementError == "" {
			if !c.now.Before(staleAt) {
				c.res.AuctionNeeded = true
			}
			return
		}
		if !c.now.Before(staleAt) {
			c.retry = append(c.retry, a.ActualLRPKey)
		} else {
			c.wakeAt(staleAt)
		}
	case model.StateClaimed, model.StateRunning:
		if a.State == model.StateRunning {
			c.res.Stats.Running++
		} else {
			c.res.Stats.Claimed++
		}
		if c.present(a.CellID) {
			return
		}
		if hasSuspect {
			c.emit(model.UnclaimActualLRP{Key: a.ActualLRPKey, InstanceKey: a.ActualLRPInstanceKey})
		} else {
			c.emit(model.SuspectActualLRP{Key: a.ActualLRPKey})
		}
	case model.StateCrashed:
		c.res.Stats.Crashed++
		if model.ShouldRestartCrash(c.now, a.Since, a.CrashCount) {
			c.emit(model.UnclaimActualLRP{Key: a.ActualLRPKey})
		} else if at, ok := model.RestartAt(a.Since, a.CrashCount); ok {
			c.wakeAt(at)
		}
	}
}
