#!/usr/bin/env bash
# The uptime job on a throwaway local PostgreSQL with a small, realistic Tally: a dry run, the
# real run, a second run that finds nothing to do, and the leaderboards it leaves. Cleans up.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib/postgres.sh
source scripts/lib/postgres.sh

command -v go >/dev/null 2>&1 || { echo "Go is missing: install Go 1.26 (https://go.dev/dl) and rerun." >&2; exit 1; }

# shellcheck disable=SC2119 # the demo's cluster needs no extra server settings
start_throwaway_postgres
psql_demo() { "$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 "$(pg_url tally)" "$@"; }
"$PG_BINDIR/psql" -X -q "$PG_URL" -c "CREATE DATABASE tally"
# Tally's schema as its Django migrations built it (testdata/tally/README.md), then the sample.
history=()
for f in testdata/tally/[0-9][0-9][0-9]_*.sql; do history+=(-f "$f"); done
psql_demo -1 "${history[@]}" -f testdata/sample.sql

bin_dir=$(mktemp -d)
trap 'rm -rf "$bin_dir"; stop_throwaway_postgres' EXIT
go build -o "$bin_dir/job" ./job
DATABASE_URL=$(pg_url tally)
export DATABASE_URL UPTIME_ENVIRONMENT=demo

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "Dry run, verbose: what would be created (nothing is written)"
"$bin_dir/job" --dry-run --verbose

step "The real run"
"$bin_dir/job"

step "Run again: nothing left to do"
"$bin_dir/job" | grep '"run summary"'

step "Uptime contributions of ada@example.com, newest first"
psql_demo -c "
  SELECT c.contribution_date::date AS day, c.points, c.multiplier_at_creation AS multiplier,
         c.frozen_global_points AS frozen, c.notes
  FROM contributions_contribution c
  JOIN users_user u ON u.id = c.user_id
  JOIN contributions_contributiontype t ON t.id = c.contribution_type_id
  WHERE u.email = 'ada@example.com' AND t.name = 'Uptime'
  ORDER BY c.contribution_date DESC LIMIT 8"

step "The leaderboards"
psql_demo -c "
  SELECT coalesce(cat.name, '(global)') AS board, e.rank, u.name, u.visible, e.total_points
  FROM leaderboard_leaderboardentry e
  JOIN users_user u ON u.id = e.user_id
  LEFT JOIN contributions_category cat ON cat.id = e.category_id
  ORDER BY cat.name NULLS FIRST, e.rank NULLS LAST, u.name"
