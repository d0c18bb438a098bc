// Command routerbench runs the pieces of the router benchmark (see
// ../run.sh): a trivial HTTP backend, or routing.Server in front of one
// backend through a static Source, so the benchmark needs nothing else of
// diegod.
//
//	routerbench backend -addr 127.0.0.1:18081
//	routerbench router -addr 127.0.0.1:18080 -backend 127.0.0.1:18081 -host bench.home
package main
