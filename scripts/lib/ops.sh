#!/usr/bin/env bash
# Runs the operator tool, ops/ (go run ./ops --help), for the scripts that keep the documented
# commands: scripts/backfill.sh, scripts/runs.sh and scripts/aws-target.sh. The tool is built
# from this checkout into the user's cache, one binary per checkout, so that after the first run
# `go build` only checks it is current; the first build compiles the AWS SDK (~30 s), and says so
# on the terminal rather than sitting silent. It runs in the caller's directory (--result-json FILE is theirs).
#
# Usage: scripts/lib/ops.sh COMMAND ARGS...
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
command -v go >/dev/null 2>&1 || {
	echo "ops: Go is missing: the operator tools are built from this checkout; install Go 1.26 (https://go.dev/dl) and rerun." >&2
	exit 2
}
cache=${XDG_CACHE_HOME:-$HOME/.cache}/tally-uptime-ops/$(printf '%s' "$root" | cksum | cut -d' ' -f1)
bin=$cache/ops
mkdir -p "$cache"
# Two runs at once must not both write the binary (flock is util-linux; macOS goes without).
lock=()
if command -v flock >/dev/null 2>&1; then lock=(flock "$cache/.lock"); fi

# Said on a terminal only: a workflow's log or a caller reading the output (2>&1) gets the
# tool's output alone.
say() { if [[ -t 2 ]]; then echo "$1" >&2; fi; }
if [[ ! -x $bin ]]; then
	say "building the operator tool (the first run compiles for ~30 s)…"
fi
(cd "$root" && ${lock[@]+"${lock[@]}"} go build -o "$bin" ./ops) &
build=$!
# A rebuild after a pull or a Go upgrade can take as long: say so when it has not ended in 2 s.
if [[ -x $bin ]]; then
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		kill -0 "$build" 2>/dev/null || break
		sleep 0.2
	done
	if kill -0 "$build" 2>/dev/null; then say "rebuilding the operator tool (up to ~30 s)…"; fi
fi
wait "$build" || {
	echo "ops: could not build the operator tool from $root/ops (go build's error is above)." >&2
	exit 2
}
exec "$bin" "$@"
