#!/usr/bin/env bash
# The pure packages must not do I/O: model/ and auction/ (except the runner)
# may not import the network, the OS, bbolt or raft (STYLE rule 1).
set -euo pipefail
cd "$(dirname "$0")/.."
bad=0
check() {
	local pkg=$1 files=$2
	local imports
	imports=$(go list -f '{{join .Imports "\n"}}' "$pkg" 2>/dev/null || true)
	if [ -n "$files" ]; then
		imports=$(cd "${pkg#./}" && grep -h '^\s*"' $files 2>/dev/null | tr -d '\t "' || true)
	fi
	for forbidden in net net/http os os/exec go.etcd.io/bbolt github.com/hashicorp/raft github.com/hashicorp/memberlist; do
		if grep -qx "$forbidden" <<<"$imports"; then
			echo "$pkg imports $forbidden, but it must stay pure"
			bad=1
		fi
	done
}
check ./model ""
# auction: every file but the runner (runner.go does the I/O).
check ./auction "$(cd auction && ls *.go | grep -v _test.go | grep -v -e '^runner' -e '^metrics' | tr '\n' ' ')"
exit $bad
