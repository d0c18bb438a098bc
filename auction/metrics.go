package auction

import (
	"time"

	"github.com/diegod/diegod/model"
)

// MetricDesc describes one metric the package reports through Recorder, so
// that node can register it with Prometheus under this name.
type MetricDesc struct {
	Name string
	Help string
	Unit string
	// Kind is "counter", "gauge" or "histogram".
	Kind string
}

// Metrics lists the metrics a Recorder is expected to expose (Diego's
// auctioneer and convergence metrics, spec §3 step 11, §5.5).
var Metrics = []MetricDesc{
	{"diegod_auction_runs_total", "Auctions run by the leader.", "auctions", "counter"},
	{"diegod_auction_work_total", "Work items considered by auctions.", "items", "counter"},
	{"diegod_auction_placements_total", "Work items placed on a cell.", "items", "counter"},
	{"diegod_auction_failures_total", "Work items that could not be placed, by code.", "items", "counter"},
	{"diegod_auction_place_duration_seconds", "Time spent in Place per auction.", "seconds", "histogram"},
	{"diegod_converge_runs_total", "Convergence passes run by the leader.", "passes", "counter"},
	{"diegod_converge_duration_seconds", "Time per convergence pass, proposals included.", "seconds", "histogram"},
	{"diegod_converge_commands_total", "Commands proposed by convergence.", "commands", "counter"},
	{"diegod_converge_rejections_total", "Convergence commands the store rejected (expected races).", "commands", "counter"},
	{"diegod_lrps_desired", "Desired instances (sum over DesiredLRPs).", "instances", "gauge"},
	{"diegod_lrps_running", "ORDINARY rows RUNNING.", "instances", "gauge"},
	{"diegod_lrps_claimed", "ORDINARY rows CLAIMED.", "instances", "gauge"},
	{"diegod_lrps_unclaimed", "ORDINARY rows UNCLAIMED.", "instances", "gauge"},
	{"diegod_lrps_crashed", "ORDINARY rows CRASHED.", "instances", "gauge"},
	{"diegod_lrps_missing", "Desired indices with no ORDINARY row.", "instances", "gauge"},
	{"diegod_lrps_extra", "ORDINARY rows with index >= instances.", "instances", "gauge"},
	{"diegod_lrps_suspect", "SUSPECT rows.", "instances", "gauge"},
	{"diegod_present_cells", "Cells that are not LOST.", "cells", "gauge"},
}

// AuctionStats are the figures of one auction.
type AuctionStats struct {
	// Duration is the time spent in Place.
	Duration   time.Duration
	Work       int
	Placements int
	Failures   map[FailureCode]int
}

// ConvergeRunStats are the figures of one convergence pass.
type ConvergeRunStats struct {
	// Duration covers the snapshot, Converge and the proposals.
	Duration time.Duration
	Commands int
	Rejected int
	Stats    ConvergeStats
}

// Recorder receives the runner's figures. Implementations must be safe for
// concurrent use.
type Recorder interface {
	AuctionDone(s AuctionStats)
	ConvergeDone(s ConvergeRunStats)
	// ProposalFailed is called for every command the store did not apply;
	// code is model.CodeOf(err).
	ProposalFailed(command string, code model.Code)
}

// NopRecorder records nothing; it is the default.
type NopRecorder struct{}

var _ Recorder = NopRecorder{}

// AuctionDone implements Recorder.
func (NopRecorder) AuctionDone(AuctionStats) {}

// ConvergeDone implements Recorder.
func (NopRecorder) ConvergeDone(ConvergeRunStats) {}

// ProposalFailed implements Recorder.
func (NopRecorder) ProposalFailed(string, model.Code) {}
