// Package node runs one diegod process: it opens the replicated store,
// serves the HTTP API, runs the leader-only work (auction and convergence)
// while this node leads, runs the node's cell and its router, and wires the
// packages together through small adapters. It holds no business rules: the
// store applies them, the auction decides placement, the cell runs work.
//
// Invariants:
//   - Writes go through raftstore.Propose; reads come from the local View.
//   - Leader work runs only between gaining leadership (after a Barrier) and
//     losing it; it is cancelled and awaited before leadership is given up.
//   - Every component runs under one errgroup; Run returns when the context
//     ends and every component has stopped.
package node
