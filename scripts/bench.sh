#!/usr/bin/env bash
# Benchmarks the job at Tally's scale on a throwaway PostgreSQL with default durability settings
# and pg_stat_statements loaded, and prints one row per case: the job's time, the time of the same work
# written by hand (internal/benchmark/floor.sql; floor_nightly.sql for the nightly cases), their ratio, and
# memory. BENCH_LARGE=1 adds the 50,000-user backfill (18M rows), BENCH_HUGE=1 the 100,000-user nightly run
# (36.5M rows); BENCH_FILTER picks cases by the go test -bench pattern. BENCH_BASELINE_REV=<git revision>
# also measures the job built from that revision on the same data, between the job and the floor ("before").
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib/postgres.sh
source scripts/lib/postgres.sh

command -v go >/dev/null 2>&1 || { echo "Go is missing: install Go 1.26 (https://go.dev/dl) and rerun." >&2; exit 1; }
if [ -n "${BENCH_BASELINE_REV:-}" ] && ! git rev-parse --verify --quiet "${BENCH_BASELINE_REV}^{commit}" >/dev/null; then
  echo "BENCH_BASELINE_REV=$BENCH_BASELINE_REV is not a commit of this repository." >&2; exit 1
fi

if [ -z "${TEST_DATABASE_URL:-}" ]; then
  # Parallel query off for the job and the floor alike: on a shared two-core machine, workers
  # measure the neighbours more than the SQL.
  start_throwaway_postgres shared_preload_libraries=pg_stat_statements shared_buffers=512MB max_wal_size=4GB \
    max_parallel_workers_per_gather=0
  export TEST_DATABASE_URL="$PG_URL"
fi

if [ -n "${BENCH_BASELINE_REV:-}" ]; then
  base_dir=$(mktemp -d)
  trap 'rm -rf "$base_dir"; stop_throwaway_postgres' EXIT # after the cluster's own trap, which this keeps
  git archive "$BENCH_BASELINE_REV" | tar -x -C "$base_dir"
  (cd "$base_dir" && go build -o "$base_dir/job-baseline" ./job)
  export BENCH_BASELINE="$base_dir/job-baseline"
fi

echo "machine: $(nproc) cores, $(free -g | awk '/^Mem:/ {print $2}') GiB; $(go version | cut -d' ' -f3); $("${PG_BINDIR:-/usr/lib/postgresql/15/bin}/postgres" --version 2>/dev/null || echo PostgreSQL)"
out=$(mktemp)
# BENCH_COUNT=N repeats each case N times (a fresh seed each time), to see the noise of a shared machine.
go test ./internal/benchmark -run '^$' -bench "BenchmarkJob/${BENCH_FILTER:-.}" -benchtime 1x -count "${BENCH_COUNT:-1}" -timeout 180m | tee "$out"
echo
# backend MB: peak private memory (RssAnon) of the server process serving the run.
printf '%-42s %10s %8s %8s %6s %8s %11s %13s %11s' case rows "job s" "floor s" ratio "job MB" "backend MB" "floor bk MB" statements
[ -n "${BENCH_BASELINE:-}" ] && printf ' %9s %7s %12s' "before s" "ratio" "before bk MB"
echo
awk -v baseline="${BENCH_BASELINE:-}" '/^BenchmarkJob\// {
  name = $1; sub(/^BenchmarkJob\//, "", name); sub(/-[0-9]+$/, "", name)
  for (i = 3; i < NF; i += 2) v[$(i+1)] = $i
  printf "%-42s %10d %8.2f %8.2f %6.2f %8.1f %11.1f %13.1f %11d", name, v["rows"], v["job-s"], v["floor-s"], v["ratio"],
    v["peak-RSS-MB"], v["backend-MB"], v["floor-backend-MB"], v["statements"]
  if (baseline != "") printf " %9.2f %7.2f %12.1f", v["baseline-s"], v["baseline-ratio"], v["baseline-backend-MB"]
  printf "\n"
}' "$out"
rm -f "$out"
