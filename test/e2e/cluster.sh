#!/usr/bin/env bash
# End to end on a real 3-node cluster: three `diegod agent` processes on
# 127.0.0.1 with their own ports and data dirs and the fake runtime. The
# first bootstraps; the others join with the token `diegod token` prints.
# Then: submit through a follower, SIGKILL a node that runs instances,
# check that its cell is marked LOST and its instances run elsewhere,
# restart it (no token: certificates on disk) and check that it is back,
# drain a node, rotate the token, save a snapshot. Prints "N passed, N failed".
set -uo pipefail
BIN=${1:-bin/diegod}
BIN=$(realpath "$BIN")
work=$(mktemp -d)
base=${DIEGOD_E2E_PORT:-19100}
pass=0 fail=0
ok()   { pass=$((pass+1)); echo "ok   - $*"; }
bad()  { fail=$((fail+1)); echo "FAIL - $*"; }
declare -a pids
port() { echo $((base + 10*$1 + $2)); }   # node i, offset 1 api 2 raft 3 gossip 4 router

start() { # start i [join args...]
	local i=$1; shift
	"$BIN" agent --runtime fake --data-dir "$work/n$i" --node-name "n$i" \
		--api-port "$(port "$i" 1)" --raft-port "$(port "$i" 2)" --gossip-port "$(port "$i" 3)" \
		--router-port "$(port "$i" 4)" --memory-mb 2048 --disk-mb 2048 --log-level info "$@" \
		>>"$work/n$i.log" 2>&1 &
	pids[$i]=$!
	disown "${pids[$i]}"
	for _ in $(seq 1 100); do
		[ -f "$work/n$i/context.json" ] && cli "$i" cells >/dev/null 2>&1 && return 0
		kill -0 "${pids[$i]}" 2>/dev/null || break
		sleep 0.1
	done
	echo "node $i did not come up:"; tail -20 "$work/n$i.log"; return 1
}
cli() { local i=$1; shift; DIEGOD_DATA_DIR="$work/n$i" DIEGOD_ADDR= DIEGOD_TOKEN= "$BIN" "$@"; }
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
cleanup() {
	for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
	wait 2>/dev/null
	if [ "$fail" -gt 0 ]; then for f in "$work"/n*.log; do echo "== $f"; tail -15 "$f"; done; fi
	rm -rf "$work"
}
trap cleanup EXIT
# waitfor SECONDS CMD...: polls CMD every 100 ms.
waitfor() {
	local limit=$(( $1 * 10 )); shift
	for _ in $(seq 1 "$limit"); do "$@" && return 0; sleep 0.1; done
	return 1
}

start 1 || { echo "0 passed, 1 failed"; exit 1; }
ok "node 1 bootstrapped a cluster"
token=$(cli 1 token 2>/dev/null)
[[ "$token" == K10*::* ]] && ok "diegod token prints the token alone" || bad "token: $token"
cli 1 token 2>&1 >/dev/null | grep -q -- "--join 127.0.0.1:$(port 1 1) --token $token" \
	&& ok "diegod token prints the join command on stderr" || bad "join command missing"
bogus="K10$(printf 'ab%.0s' $(seq 1 32))::${token##*::}"
"$BIN" agent --runtime fake --data-dir "$work/bad" --node-name bad --api-port "$(port 9 1)" --raft-port "$(port 9 2)" \
	--gossip-port "$(port 9 3)" --router-port "$(port 9 4)" --join "127.0.0.1:$(port 1 1)" --token "$bogus" \
	--join-timeout 5s >"$work/bad.log" 2>&1
[ $? -ne 0 ] && grep -q "does not match" "$work/bad.log" && ok "a token pinning another CA is refused" \
	|| bad "wrong CA fingerprint: $(tail -2 "$work/bad.log")"
start 2 --join "127.0.0.1:$(port 1 1)" --token "$token" || bad "node 2 join"
start 3 --join "127.0.0.1:$(port 1 1)" --token "$token" || bad "node 3 join"

members_ok() {
	local m; m=$(cli 1 members -o json 2>/dev/null) || return 1
	[ "$(json 'sorted((m["node"], m["raft"] in ("leader","voter"), m["gossip"]) for m in d)' <<<"$m")" \
		= "[('n1', True, 'alive'), ('n2', True, 'alive'), ('n3', True, 'alive')]" ]
}
waitfor 20 members_ok && ok "3 members: all Raft voters, alive in gossip" || bad "members: $(cli 1 members 2>&1)"
grep -q '"api_addr": "https://' "$work/n2/context.json" && grep -q "BEGIN CERTIFICATE" "$work/n2/context.json" \
	&& ok "context.json has an https API address and the CA" || bad "context.json"
[ "$(stat -c %a "$work/n1/tls/ca.key")" = 600 ] && ok "CA key stored 0600" || bad "ca.key mode"
code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$work/n1/tls/ca.crt" \
	--resolve diegod.cluster:"$(port 1 1)":127.0.0.1 "https://diegod.cluster:$(port 1 1)/v1/lrps")
[ "$code" = 401 ] && ok "API without the operator token: 401" || bad "API without token: $code"

cat >"$work/web.yaml" <<'YAML'
process_guid: web
instances: 9
memory_mb: 16
disk_mb: 16
action: {run: {path: /bin/fake-web}}
ports: [8080]
YAML
cli 2 submit "$work/web.yaml" --timeout 60s >/dev/null 2>&1 && ok "submit through a follower: 9 running" || bad "submit"
cells_json=$(cli 1 cells -o json)
spread=$(json 'sum(1 for c in d if c["allocated"]["containers"] > 0)' <<<"$cells_json")
[ "$spread" = 3 ] && ok "instances spread over 3 cells" || bad "spread: $cells_json"

# Tasks run through node 1 wherever they are placed; `task run` shows their
# log lines from the node that ran them.
remote=0 tasks_ok=1
for t in 1 2 3 4; do
	printf 'task_guid: t%s\nmemory_mb: 1\ndisk_mb: 1\naction: {run: {path: /bin/fake}}\n' "$t" >"$work/t$t.yaml"
	out=$(cli 1 task run "$work/t$t.yaml" --timeout 30s 2>&1) || tasks_ok=0
	grep -q "\[APP/TASK/t$t\]" <<<"$out" || tasks_ok=0
	grep -q "Cell n[23] " <<<"$out" && remote=$((remote+1))
done
[ $tasks_ok = 1 ] && ok "4 tasks through node 1 completed with their log lines ($remote ran on other nodes)" \
	|| bad "task run: $out"

# SIGKILL a node that is not the leader.
leader=$(cli 1 members -o json | json '[m["node"] for m in d if m["raft"]=="leader"][0]')
victim=3; [ "$leader" = n3 ] && victim=2
survivor=1 # the victim is n2 or n3
kill -9 "${pids[$victim]}"; t0=$(date +%s%N)
elsewhere() {
	local s; s=$(cli "$survivor" status web -o json 2>/dev/null) || return 1
	[ "$(json "sum(1 for i in d['instances'] if i['state']=='RUNNING' and i['presence']=='ORDINARY' and i['cell_id']!='n$victim')" <<<"$s")" = 9 ]
}
if waitfor 20 elsewhere; then
	ok "SIGKILL n$victim: all 9 instances RUNNING elsewhere after $(( ($(date +%s%N) - t0) / 1000000 )) ms"
else
	bad "instances after SIGKILL: $(cli "$survivor" status web 2>&1 | tail -12)"
fi
lost() { [ "$(cli "$survivor" cells -o json | json "[c['state'] for c in d if c['cell_id']=='n$victim'][0]")" = LOST ]; }
waitfor 5 lost && ok "cell n$victim marked LOST" || bad "cell n$victim not LOST"
dead() { [ "$(cli "$survivor" members -o json | json "[m['gossip'] for m in d if m['node']=='n$victim'][0]")" = dead ]; }
waitfor 5 dead && ok "n$victim is dead in gossip" || bad "n$victim gossip state"
cli "$survivor" ps -o json | json 'd[0]["running"]' | grep -qx 9 && ok "ps: 9/9 running" || bad "ps"

# Restart it from its data dir: no token needed.
start "$victim" || bad "restart n$victim"
alive() { [ "$(cli "$survivor" cells -o json | json "[c['state'] for c in d if c['cell_id']=='n$victim'][0]")" = ALIVE ]; }
waitfor 20 alive && ok "n$victim back without a token, cell ALIVE" || bad "n$victim not back"
nosuspect() { [ "$(cli "$survivor" status web -o json | json "sum(1 for i in d['instances'] if i['presence']!='ORDINARY')")" = 0 ]; }
waitfor 20 nosuspect && ok "suspects retired after the node came back" || bad "suspects remain"

# Drain a node; rotate the token; snapshot.
cli "$survivor" drain "n$victim" --timeout 60s >/dev/null 2>&1 && ok "drain n$victim" || bad "drain"
empty() { [ "$(cli "$survivor" cells -o json | json "[c['allocated']['containers'] for c in d if c['cell_id']=='n$victim'][0]")" = 0 ]; }
empty && elsewhere && ok "drained: 9 running on the other cells" || bad "after drain"
new=$(cli 2 token rotate 2>/dev/null)
[ -n "$new" ] && [ "$new" != "$token" ] && [ "$(cli 3 token 2>/dev/null)" = "$new" ] \
	&& ok "token rotate: every member prints the new token" || bad "token rotate"
cli 1 snapshot save "$work/state.snap" >/dev/null && grep -q '"process_guid":"web"' "$work/state.snap" \
	&& ok "snapshot save" || bad "snapshot save"

# SIGTERM: graceful leave of a node.
kill -TERM "${pids[1]}"
waitfor 60 bash -c "! kill -0 ${pids[1]} 2>/dev/null" && ok "SIGTERM: node 1 left and exited" || bad "node 1 still running"
other=2; [ "$victim" = 2 ] && other=3
leftstate() { [ "$(cli "$other" members -o json | json "[m['gossip'] for m in d if m['node']=='n1'][0]")" = left ]; }
waitfor 10 leftstate && ok "node 1 is 'left' in gossip" || bad "node 1 gossip: $(cli "$other" members 2>&1)"
running_total() { [ "$(cli "$other" ps -o json | json 'd[0]["running"]')" = 9 ]; }
waitfor 20 running_total && ok "still 9 running on the remaining nodes" || bad "after leave: $(cli "$other" ps 2>&1)"

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
