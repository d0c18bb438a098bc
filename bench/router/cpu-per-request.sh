#!/usr/bin/env bash
# Router CPU per proxied request: runs the backend and the router, drives
# 3 × 4 s of wrk -t2 -c64 through the router and divides the router
# process's CPU time by the requests served. Usage: bench/router/cpu-per-request.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
TMP=$(mktemp -d)
trap 'kill $RT $BE 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$TMP"' EXIT
go build -o "$TMP/routerbench" ./bench/router/cmd
"$TMP/routerbench" backend -addr 127.0.0.1:18191 & BE=$!
"$TMP/routerbench" router -addr 127.0.0.1:18190 -backend 127.0.0.1:18191 & RT=$!
for _ in $(seq 1 100); do (exec 3<>/dev/tcp/127.0.0.1/18190) 2>/dev/null && break; sleep 0.05; done
for _ in 1 2 3; do
	t0=$(awk '{print $14+$15}' "/proc/$RT/stat")
	out=$(wrk -t2 -c64 -d4s -H "Host: bench.home" http://127.0.0.1:18190/)
	t1=$(awk '{print $14+$15}' "/proc/$RT/stat")
	reqs=$(echo "$out" | awk '/requests in/ {print $1}')
	rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
	awk -v a="$t0" -v b="$t1" -v r="$reqs" -v rps="$rps" -v hz="$(getconf CLK_TCK)" \
		'BEGIN { printf "rps %.0f  router cpu/request %.1f us\n", rps, (b - a) / hz * 1e6 / r }'
done
