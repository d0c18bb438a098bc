// Package routing is diegod's HTTP router (gorouter built into every node,
// spec §7). Every node holds the whole state, so there is no route-emitter
// and no NATS: the router reads local state through a Source.
//
// Pieces:
//   - Build (table.go) turns a Snapshot into an immutable Table: for every
//     RUNNING ActualLRP (any presence: ORDINARY, SUSPECT, EVACUATING) of a
//     DesiredLRP with routes, an Endpoint under each of its hostnames, at
//     the cell address and the host port of the LRP's first port, or at the
//     container address and port when the instance runs on this node and
//     has its own address. A route whose LRP has nothing RUNNING stays in
//     the table with an empty pool (503, not 404).
//   - Watcher subscribes to the Source and rebuilds on every event batch that
//     touches routing, from a fresh Snapshot; the Router swaps the Table in
//     atomically. It never polls.
//   - Router is the reverse proxy (round-robin or least-connection per route,
//     retries, cool-off, sticky sessions, X-Forwarded-*, X-Request-Id,
//     X-CF-* headers, upgrades, streaming, access log to the app's stream
//     as [RTR/<index>]). Server runs Watcher and Router on a listener.
//   - backendClient (client.go) speaks HTTP/1.1 to backends over a bounded
//     keep-alive pool, reusing net/http's framing (Request.Write,
//     ReadResponse) but no per-connection goroutines; measured ~20-30% less
//     router CPU per request than http.Transport (bench/router/RESULTS.md).
//     A keep-alive connection the backend closed is replayed once on a
//     fresh connection when the request is idempotent or was not written.
//
// Invariants:
//   - Build is pure (no clock, no randomness, no I/O); a published Table is
//     never modified. The only mutable routing state is per endpoint
//     (requests in flight, cool-off end), keyed by instance guid and
//     address, and each pool's round-robin cursor.
//   - A request is sent to another endpoint only when it failed before the
//     app could have seen it: no connection, or the request head was not
//     (completely) written, and the body was not consumed. At most
//     Config.MaxAttempts distinct endpoints, never more than the pool has.
//   - Graceful deregistration: the store deletes an instance's row (which
//     removes the route on every node at commit) before its cell stops the
//     container, so a route is gone before its backend stops. A backend
//     that is stopped early refuses the dial, and the request is retried
//     elsewhere.
//
// Headers: the request to the backend carries X-Forwarded-For (the client
// IP appended), X-Forwarded-Proto and X-Forwarded-Host (kept when the
// client sent them, else set), X-Request-Id (kept when valid, else a new
// UUID), and X-CF-ApplicationID (the process guid), X-CF-InstanceID and
// X-CF-InstanceIndex, always overwritten, as gorouter does. Router errors
// carry X-Cf-Routererror (unknown_route, no_endpoints, endpoint_failure).
//
// Concurrency: Router, Table lookups and Server are safe for concurrent use;
// Watcher.Run and Server.Run own their goroutines and return when their
// context ends.
package routing
