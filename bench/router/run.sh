#!/usr/bin/env bash
# Router benchmark: requests/s and p50/p99 latency to one local backend,
# direct, through diegod's router and through nginx, with wrk, on loopback.
#
#   bench/router/run.sh            # 5 s per run
#   DURATION=10s CONNS=128 bench/router/run.sh
#
# Needs root for apt-get when nginx or wrk are missing. Prints a markdown
# table (and raw wrk output under $OUT, default a temp dir).
set -euo pipefail

DURATION=${DURATION:-5s}
CONNS=${CONNS:-64}
THREADS=${THREADS:-2}
HOSTNAME_ROUTE=bench.home
BACKEND_PORT=${BACKEND_PORT:-18081}
ROUTER_PORT=${ROUTER_PORT:-18080}
NGINX_PORT=${NGINX_PORT:-18082}

cd "$(dirname "$0")/../.."
if ! command -v nginx >/dev/null || ! command -v wrk >/dev/null; then
	DEBIAN_FRONTEND=noninteractive apt-get install -y nginx wrk >/dev/null
fi

TMP=$(mktemp -d)
OUT=${OUT:-$TMP}
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$TMP"
}
trap cleanup EXIT

go build -o "$TMP/routerbench" ./bench/router/cmd

wait_port() {
	for _ in $(seq 1 200); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
		sleep 0.05
	done
	echo "port $1 did not open" >&2
	return 1
}

"$TMP/routerbench" backend -addr "127.0.0.1:$BACKEND_PORT" &
PIDS+=($!)
"$TMP/routerbench" router -addr "127.0.0.1:$ROUTER_PORT" -backend "127.0.0.1:$BACKEND_PORT" -host "$HOSTNAME_ROUTE" &
PIDS+=($!)

mkdir -p "$TMP/nginx/logs"
cat >"$TMP/nginx/nginx.conf" <<CONF
worker_processes auto;
daemon off;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/error.log warn;
events { worker_connections 4096; }
http {
	access_log off;
	client_body_temp_path $TMP/nginx/body;
	proxy_temp_path $TMP/nginx/proxy;
	fastcgi_temp_path $TMP/nginx/fastcgi;
	uwsgi_temp_path $TMP/nginx/uwsgi;
	scgi_temp_path $TMP/nginx/scgi;
	upstream app { server 127.0.0.1:$BACKEND_PORT; keepalive 128; }
	server {
		listen 127.0.0.1:$NGINX_PORT;
		location / {
			proxy_pass http://app;
			proxy_http_version 1.1;
			proxy_set_header Connection "";
			proxy_set_header Host \$host;
			proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
			proxy_set_header X-Forwarded-Proto \$scheme;
		}
	}
}
CONF
nginx -p "$TMP/nginx" -c "$TMP/nginx/nginx.conf" &
PIDS+=($!)

wait_port "$BACKEND_PORT"
wait_port "$ROUTER_PORT"
wait_port "$NGINX_PORT"
curl -fsS -H "Host: $HOSTNAME_ROUTE" "http://127.0.0.1:$ROUTER_PORT/" >/dev/null
curl -fsS -H "Host: $HOSTNAME_ROUTE" "http://127.0.0.1:$NGINX_PORT/" >/dev/null

# to_ms converts a wrk latency ("812.00us", "1.20ms", "2.01s") to ms.
to_ms() {
	awk -v v="$1" 'BEGIN {
		if (v ~ /us$/) { sub(/us$/, "", v); printf "%.3f", v / 1000 }
		else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.3f", v }
		else if (v ~ /s$/) { sub(/s$/, "", v); printf "%.3f", v * 1000 }
		else printf "%s", v }'
}

# run NAME PORT CONNS THREADS: one wrk run; prints "rps p50 p99".
run() {
	local name=$1 port=$2 conns=$3 threads=$4 f="$OUT/wrk-$1-c$3.txt"
	wrk -t"$threads" -c"$conns" -d"$DURATION" --latency -H "Host: $HOSTNAME_ROUTE" "http://127.0.0.1:$port/" >"$f"
	local rps p50 p99 errs
	rps=$(awk '/^Requests\/sec:/ {print $2}' "$f")
	p50=$(to_ms "$(awk '$1 == "50%" {print $2}' "$f")")
	p99=$(to_ms "$(awk '$1 == "99%" {print $2}' "$f")")
	errs=$(awk '/Non-2xx|Socket errors/ {print}' "$f" | tr '\n' ' ')
	[ -n "$errs" ] && echo "warning: $name: $errs" >&2
	echo "$rps $p50 $p99"
}

declare -A R
for c in "$CONNS" 1; do
	t=$THREADS
	[ "$c" = 1 ] && t=1
	for target in direct:$BACKEND_PORT router:$ROUTER_PORT nginx:$NGINX_PORT; do
		name=${target%%:*}
		R[$name-$c]=$(run "$name" "${target##*:}" "$c" "$t")
	done
done

echo
echo "| connections | target | requests/s | p50 ms | p99 ms | rps vs nginx | p99 added vs direct (ms) |"
echo "|---|---|---|---|---|---|---|"
for c in "$CONNS" 1; do
	read -r drps dp50 dp99 <<<"${R[direct-$c]}"
	read -r nrps np50 np99 <<<"${R[nginx-$c]}"
	for name in direct router nginx; do
		read -r rps p50 p99 <<<"${R[$name-$c]}"
		awk -v c="$c" -v n="$name" -v r="$rps" -v p5="$p50" -v p9="$p99" -v nr="$nrps" -v d9="$dp99" \
			'BEGIN { printf "| %s | %s | %.0f | %.3f | %.3f | %.2f | %+.3f |\n", c, n, r, p5, p9, r / nr, p9 - d9 }'
	done
done
echo
echo "machine: $(nproc) cores, kernel $(uname -r), $(date -u +%Y-%m-%dT%H:%MZ), duration $DURATION per run"
