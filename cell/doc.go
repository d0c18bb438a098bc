// Package cell is the node's executor: it watches the ActualLRPs assigned to
// this node's cell in local state, runs them through a container Runtime,
// and reports their lifecycle (RUNNING, crashed, removed) back through a
// Reporter. It also captures logs and container metrics.
package cell
