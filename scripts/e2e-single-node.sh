#!/usr/bin/env bash
# End to end on one real diegod process with the fake runtime: submit, scale,
# crash handling through the CLI, Ctrl-C, restart on the same data dir, and
# check that every LRP and instance is recovered. Prints "N passed, N failed".
set -uo pipefail
BIN=${1:-bin/diegod}
BIN=$(realpath "$BIN")
work=$(mktemp -d)
api=127.0.0.1:18889
export DIEGOD_ADDR=$api DIEGOD_DATA_DIR=$work/data
pass=0 fail=0
ok()   { pass=$((pass+1)); echo "ok   - $*"; }
bad()  { fail=$((fail+1)); echo "FAIL - $*"; }
agent_pid=
start_agent() {
	"$BIN" agent --dev --runtime fake --data-dir "$work/data" --node-name e2e \
		--api-port 18889 --raft-port 18890 --gossip-port 18891 --router-port 18080 \
		--log-level warn >>"$work/agent.log" 2>&1 &
	agent_pid=$!
	for _ in $(seq 1 300); do
		curl -sf "http://$api/readyz" >/dev/null 2>&1 && return 0
		kill -0 "$agent_pid" 2>/dev/null || break
		sleep 0.1
	done
	echo "agent did not come up:"; tail -20 "$work/agent.log"; return 1
}
cleanup() { [ -n "$agent_pid" ] && kill "$agent_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

start_agent || { echo "0 passed, 1 failed"; exit 1; }
cat >"$work/web.yaml" <<'YAML'
process_guid: web
instances: 4
memory_mb: 16
disk_mb: 16
action: {run: {path: /bin/fake-web}}
ports: [8080]
YAML
if "$BIN" submit "$work/web.yaml" --timeout 60s >/dev/null 2>"$work/submit.err"; then ok "submit waits until 4 instances run"; else bad "submit: $(tail -3 "$work/submit.err")"; fi
running=$("$BIN" status web -o json | python3 -c 'import json,sys; d=json.load(sys.stdin); print(sum(1 for i in d["instances"] if i["state"]=="RUNNING"))')
[ "$running" = 4 ] && ok "status shows 4 RUNNING" || bad "status shows $running RUNNING"

"$BIN" submit "$work/web.yaml" >/dev/null 2>&1; rc=$?
[ $rc = 1 ] && ok "duplicate submit exits 1" || bad "duplicate submit exit $rc"
printf 'process_guid: x\ninstanes: 2\n' >"$work/typo.yaml"
msg=$("$BIN" submit "$work/typo.yaml" 2>&1); rc=$?
[ $rc = 1 ] && grep -q instanes <<<"$msg" && ok "unknown field refused: $msg" || bad "typo: rc=$rc $msg"

cat >"$work/big.yaml" <<'YAML'
process_guid: big
instances: 2
memory_mb: 900000
action: {run: {path: /bin/fake}}
YAML
"$BIN" agent --help >/dev/null
"$BIN" submit "$work/big.yaml" --timeout 30s >/dev/null 2>"$work/big.err"; rc=$?
[ $rc = 2 ] && grep -q "insufficient resources" "$work/big.err" && ok "unplaceable submit exits 2" || bad "unplaceable: rc=$rc $(cat "$work/big.err")"

"$BIN" scale web 2 >/dev/null && ok "scale to 2" || bad "scale"
for _ in $(seq 1 300); do
	n=$("$BIN" ps -o json | python3 -c 'import json,sys; print([l for l in json.load(sys.stdin) if l["process_guid"]=="web"][0]["running"])')
	[ "$n" = 2 ] && break; sleep 0.1
done
[ "$n" = 2 ] && ok "2 running after scale down" || bad "running after scale: $n"

before=$("$BIN" status web -o json | python3 -c 'import json,sys; d=json.load(sys.stdin); print(sorted((i["index"], i["state"]) for i in d["instances"]))')
kill -INT "$agent_pid"; wait "$agent_pid"; rc=$?
[ $rc = 0 ] && ok "Ctrl-C exits 0" || bad "Ctrl-C exit $rc"
start_agent || { echo "$pass passed, $((fail+1)) failed"; exit 1; }
"$BIN" ps -o json | grep -q '"big"' && ok "LRPs recovered after restart" || bad "LRPs lost after restart"
for _ in $(seq 1 300); do
	after=$("$BIN" status web -o json | python3 -c 'import json,sys; d=json.load(sys.stdin); print(sorted((i["index"], i["state"]) for i in d["instances"]))')
	[ "$after" = "$before" ] && break; sleep 0.1
done
[ "$after" = "$before" ] && ok "instances running again after restart: $after" || bad "after restart: $after, before: $before"

"$BIN" delete web >/dev/null && "$BIN" delete big >/dev/null && ok "delete" || bad "delete"
left=$("$BIN" ps -o json)
[ "$left" = "[]" ] && ok "nothing left" || bad "left: $left"
if [ $fail -gt 0 ]; then
	echo "agent log (last 40 lines):"
	tail -40 "$work/agent.log"
fi
echo "$pass passed, $fail failed"
[ $fail = 0 ]
