# shellcheck shell=bash
# Starts a throwaway PostgreSQL cluster for the demo, the tests and the benchmark, and removes it
# on exit. Source this file, then call `start_throwaway_postgres [extra postgres -c settings...]`;
# it exports PG_URL (a superuser URL to the `postgres` database; `pg_url NAME` gives one to NAME) and registers the cleanup trap.

pg_bindir() {
  if [ -n "${PG_BIN:-}" ] && [ -x "$PG_BIN/initdb" ]; then echo "$PG_BIN"; return 0; fi
  local dir
  # Newest major version first; an unmatched glob stays literal and fails the -x test below.
  for dir in $(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V -r) /usr/local/pgsql/bin; do
    if [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ]; then echo "$dir"; return 0; fi
  done
  command -v initdb >/dev/null 2>&1 && dirname "$(command -v initdb)" && return 0
  return 1
}

# Installs Debian's PostgreSQL server when we may (root, apt-get present) and it is missing.
ensure_postgres_binaries() {
  pg_bindir >/dev/null && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "PostgreSQL server binaries not found; installing Debian's postgresql package..." >&2
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  fi
  pg_bindir >/dev/null && return 0
  echo "PostgreSQL server binaries (initdb, pg_ctl) are missing: install PostgreSQL 15, or set TEST_DATABASE_URL to a superuser URL of your own server." >&2
  return 1
}

free_loopback_port() {
  local port
  for port in $(seq 55432 55532); do
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "$port"; return 0; fi
  done
  echo "no free loopback port in 55432-55532 for a throwaway PostgreSQL." >&2
  return 1
}

# as_pg_owner runs a command as the OS user that owns the cluster: `postgres` when we are root,
# because PostgreSQL refuses to run as root.
as_pg_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

stop_throwaway_postgres() {
  [ -n "${PG_DATA_DIR:-}" ] || return 0
  as_pg_owner "$PG_BINDIR/pg_ctl" stop -D "$PG_DATA_DIR/data" -m immediate >/dev/null 2>&1 || true
  rm -rf "$PG_DATA_DIR"
  PG_DATA_DIR=""
}

start_throwaway_postgres() {
  ensure_postgres_binaries || return 1
  PG_BINDIR=$(pg_bindir)
  local port settings=() s
  port=$(free_loopback_port) || return 1
  PG_DATA_DIR=$(mktemp -d "${TMPDIR:-/tmp}/tally-uptime-pg.XXXXXX")
  trap stop_throwaway_postgres EXIT
  [ "$(id -u)" = 0 ] && chown postgres: "$PG_DATA_DIR"
  as_pg_owner "$PG_BINDIR/initdb" -D "$PG_DATA_DIR/data" -U postgres -A trust -E UTF8 \
    --locale=C.UTF-8 >"$PG_DATA_DIR/initdb.log" 2>&1 || {
    echo "initdb failed; its log:" >&2; cat "$PG_DATA_DIR/initdb.log" >&2; return 1; }
  for s in listen_addresses=127.0.0.1 "port=$port" "unix_socket_directories=$PG_DATA_DIR" \
    max_connections=200 "$@"; do
    settings+=("-c $s")
  done
  as_pg_owner "$PG_BINDIR/pg_ctl" start -w -t 60 -D "$PG_DATA_DIR/data" -l "$PG_DATA_DIR/server.log" \
    -o "${settings[*]}" >/dev/null || {
    echo "PostgreSQL did not start; its log:" >&2; cat "$PG_DATA_DIR/server.log" >&2; return 1; }
  export PG_PORT=$port PG_BINDIR PG_DATA_DIR
  PG_URL=$(pg_url postgres)
  export PG_URL
}

# pg_url DBNAME is a superuser URL to DBNAME on the throwaway cluster.
pg_url() {
  echo "postgres://postgres@127.0.0.1:$PG_PORT/$1?sslmode=disable"
}
