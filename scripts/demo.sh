#!/usr/bin/env bash
# The uptime job on a throwaway local PostgreSQL with a small, realistic Tally: a dry run, the
# real run, a second run that finds nothing to do, and the leaderboards it leaves. Cleans up.
# With TEST_DATABASE_URL (a superuser URL, as for scripts/test.sh) it uses that server instead:
# it creates a database tally_demo_<pid> there and drops it at the end; only psql is needed.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib/postgres.sh
source scripts/lib/postgres.sh

command -v go >/dev/null 2>&1 || { echo "Go is missing: install Go 1.26 (https://go.dev/dl) and rerun." >&2; exit 1; }

bin_dir=$(mktemp -d)
if [ -n "${TEST_DATABASE_URL:-}" ]; then
  psql_bin=$(command -v psql || true)
  [ -n "$psql_bin" ] || { echo "psql is missing: install the PostgreSQL client (apt-get install postgresql-client) and rerun." >&2; exit 1; }
  demo_db=tally_demo_$$
  # The same URL with the demo's database as its path; its query (sslmode, ...) is kept.
  demo_url=$(printf '%s' "$TEST_DATABASE_URL" | sed -E "s#^(postgres(ql)?://[^/?]*)(/[^?]*)?#\\1/$demo_db#")
  admin() { "$psql_bin" -X -q -v ON_ERROR_STOP=1 "$TEST_DATABASE_URL" "$@"; }
  admin -c "CREATE DATABASE $demo_db"
  cleanup() { rm -rf "$bin_dir"; admin -c "DROP DATABASE IF EXISTS $demo_db WITH (FORCE)" || true; }
else
  # shellcheck disable=SC2119 # the demo's cluster needs no extra server settings
  start_throwaway_postgres
  psql_bin=$PG_BINDIR/psql
  "$psql_bin" -X -q "$PG_URL" -c "CREATE DATABASE tally"
  demo_url=$(pg_url tally)
  cleanup() { rm -rf "$bin_dir"; stop_throwaway_postgres; }
fi
trap cleanup EXIT
psql_demo() { "$psql_bin" -X -q -v ON_ERROR_STOP=1 "$demo_url" "$@"; }

# Tally's schema as its Django migrations built it (testdata/tally/README.md), then the sample.
history=()
for f in testdata/tally/[0-9][0-9][0-9]_*.sql; do history+=(-f "$f"); done
psql_demo -1 "${history[@]}" -f testdata/sample.sql
# Every row created after this moment is the job's.
loaded=$(psql_demo -At -c "SELECT clock_timestamp()")

echo "building the job (go build ./job; the first build on a machine compiles for up to a minute)..."
go build -o "$bin_dir/job" ./job
DATABASE_URL=$demo_url
export DATABASE_URL UPTIME_ENVIRONMENT=demo

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "Dry run, verbose: the whole run, one line per user with their days, then rolled back (nothing is kept)"
"$bin_dir/job" --dry-run --verbose

step "The real run"
"$bin_dir/job"

step "Run again: nothing left to do"
"$bin_dir/job" | grep '"run summary"'

step "Uptime contributions of ada@example.com, newest first (made_by: the sample data, or the job just now)"
echo "frozen = points (1) x the Uptime multiplier in force at the day's 00:00 UTC, rounded half to even as Django does: 1 x 2.50 = 2.5 -> 2"
psql_demo -v loaded="$loaded" <<'SQL'
SELECT c.contribution_date::date AS day, c.points, c.multiplier_at_creation AS multiplier,
       c.frozen_global_points AS frozen,
       CASE WHEN c.created_at > :'loaded'::timestamptz THEN 'job' ELSE 'sample' END AS made_by, c.notes
FROM contributions_contribution c
JOIN users_user u ON u.id = c.user_id
JOIN contributions_contributiontype t ON t.id = c.contribution_type_id
WHERE u.email = 'ada@example.com' AND t.name = 'Uptime'
ORDER BY c.contribution_date DESC LIMIT 8;
SQL

step "The leaderboards"
psql_demo -c "
  SELECT coalesce(cat.name, '(global)') AS board, e.rank, u.name, u.visible, e.total_points
  FROM leaderboard_leaderboardentry e
  JOIN users_user u ON u.id = e.user_id
  LEFT JOIN contributions_category cat ON cat.id = e.category_id
  ORDER BY cat.name NULLS FIRST, e.rank NULLS LAST, u.name"
