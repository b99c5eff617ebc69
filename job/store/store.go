// Package store is the job's side of PostgreSQL that is not the generator's SQL: opening the run's
// sessions (through job/connect) while the server may still be starting, the run's transaction
// and its lock, and the guard that refuses to write into a schema the job does not understand.
package store

import (
	"cmp"
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/tally/uptime/job/connect"
)

// LockKey is the advisory lock that keeps runs one at a time. Operators can find the holder with
// SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND objid = 1970303084.
const LockKey int64 = 1970303084 // "upti" in ASCII

// ErrLocked means another run holds the lock.
var ErrLocked = errors.New("another uptime run holds the lock; this run wrote nothing and stops")

// Open connects to target and keeps retrying, with backoff, for up to wait while it is
// unreachable or starting. Errors that retrying cannot fix (authentication, a missing database, a
// server that fails TLS verification) are returned at once. ctx is the run: once it ends, the
// connection has a few seconds left before every read and write fails (connect.Target.Connector).
func Open(ctx context.Context, target connect.Target, wait time.Duration, log *slog.Logger) (*sqlx.DB, error) {
	// A run of the job is known by its application_name (lock.go ends only such sessions).
	target.ApplicationName = cmp.Or(target.ApplicationName, ApplicationName)
	connector, err := target.Connector(ctx, wait)
	if err != nil {
		return nil, fmt.Errorf("connect to the database (%s): %w", target, err)
	}
	db := sqlx.NewDb(sql.OpenDB(connector), "postgres")
	// The run's session, and the one that watches for app sessions waiting on it (yield.go).
	db.SetMaxOpenConns(2)
	db.SetMaxIdleConns(2)

	giveUp := time.Now().Add(wait)
	backoff := 250 * time.Millisecond
	for attempt := 1; ; attempt++ {
		pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err = db.PingContext(pingCtx)
		cancel()
		if err == nil {
			return db, nil
		}
		remaining := time.Until(giveUp)
		if ctx.Err() != nil || permanent(err) || remaining <= 0 {
			db.Close()
			return nil, fmt.Errorf("connect to the database (%s) after %d attempt(s): %w", target, attempt, err)
		}
		pause := min(backoff, remaining)
		log.WarnContext(ctx, "database not reachable yet; retrying", "attempt", attempt, "retry_in", pause.String(), "error", err.Error())
		select {
		case <-ctx.Done():
		case <-time.After(pause):
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}

// Transient reports failures that the same run may well survive if it starts again: a
// serialization failure, a deadlock, a unique violation or lock wait that a concurrent writer
// caused, the server shutting the connection or refusing new ones while it restarts, or the
// connection breaking. Cancellations, timeouts and every other error are not.
func Transient(err error) bool {
	var pqErr *pq.Error
	if errors.As(err, &pqErr) {
		switch pqErr.Code {
		case "40001", "40P01", // serialization_failure, deadlock_detected
			"23505", "55P03", // unique_violation, lock_not_available: a concurrent writer got there first or held on
			"57P01", "57P02", // admin_shutdown, crash_shutdown: the server ended the session
			"57P03",                   // cannot_connect_now: the server is shutting down or starting up (a restart, a failover)
			"08000", "08003", "08006": // connection_exception, connection_does_not_exist, connection_failure
			return true
		}
		return false
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var netErr net.Error
	return errors.Is(err, driver.ErrBadConn) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) || errors.As(err, &netErr)
}

// permanent reports errors that another attempt cannot fix.
func permanent(err error) bool {
	if connect.Untrusted(err) {
		return true
	}
	var pqErr *pq.Error
	if !errors.As(err, &pqErr) {
		return false
	}
	return pqErr.Code.Class() == "28" || pqErr.Code == "3D000" // invalid authorization, unknown database
}

// ApplicationName is the job's session name when DATABASE_URL names none: with the role, what
// identifies a session as a run of this job.
const ApplicationName = "tally-uptime"

// BeginRun starts the run's transaction and takes the run lock. The server is told about the
// run's deadline and to check for a vanished client, so that a killed job neither leaves a
// statement running nor holds the lock much longer than the kill. The isolation is READ
// COMMITTED whatever the role's default: the locked phase must see what the app committed while
// the run waited for its locks, which a REPEATABLE READ snapshot taken earlier would hide.
func BeginRun(ctx context.Context, db *sqlx.DB) (*sqlx.Tx, error) {
	tx, err := db.BeginTxx(ctx, &sql.TxOptions{Isolation: sql.LevelReadCommitted})
	if err != nil {
		return nil, fmt.Errorf("begin transaction: %w", err)
	}
	if err := setSession(ctx, tx); err != nil {
		tx.Rollback()
		return nil, err
	}
	var locked bool
	if err := tx.GetContext(ctx, &locked, "SELECT pg_try_advisory_xact_lock($1)", LockKey); err != nil {
		tx.Rollback()
		return nil, fmt.Errorf("take the run lock: %w", err)
	}
	if !locked {
		tx.Rollback()
		return nil, ErrLocked
	}
	return tx, nil
}

func setSession(ctx context.Context, tx *sqlx.Tx) error {
	settings := map[string]string{
		"work_mem":     "64MB", // the anti-join and leaderboard sums stay in memory at 10k users × years
		"lock_timeout": "0",
		// JIT decides on estimated cost, and scratch tables start with wild estimates: it
		// compiled for ~0.4 s per statement here and saved nothing on these set operations.
		"jit": "off",
		// Only PostgreSQL's own functions, operators and types: an object planted in public (say
		// lower(varchar), an exact match that beats pg_catalog's lower(text)) must never run in
		// the job. Tally's tables are named public.<table>; the run's scratch tables are temporary.
		"search_path": "pg_catalog, pg_temp",
	}
	maps.Copy(settings, pathSettings)
	if deadline, ok := ctx.Deadline(); ok {
		ms := max(time.Until(deadline).Milliseconds(), 1)
		settings["statement_timeout"] = fmt.Sprint(ms)
		settings["idle_in_transaction_session_timeout"] = fmt.Sprint(min(ms, StaleAfter.Milliseconds()))
	}
	for name, value := range settings {
		if _, err := tx.ExecContext(ctx, "SELECT set_config($1, $2, true)", name, value); err != nil {
			return fmt.Errorf("set %s: %w", name, err)
		}
	}
	// PostgreSQL 14 and later can notice a client that vanished mid-statement; older servers lack the setting.
	if _, err := tx.ExecContext(ctx, `
		SELECT set_config(name, '1000', true) FROM pg_settings WHERE name = 'client_connection_check_interval'`); err != nil {
		return fmt.Errorf("set client_connection_check_interval: %w", err)
	}
	return nil
}

// SchemaError means the database's schema is not one the job can write safely.
type SchemaError struct{ msg string }

func (e *SchemaError) Error() string { return e.msg }

// Type families the job can work with.
var (
	integer     = []string{"bigint", "integer", "smallint"}
	text        = []string{"text", "character varying"}
	boolean     = []string{"boolean"}
	timestamptz = []string{"timestamp with time zone"}
	numeric     = []string{"numeric"}
)

// columns is every column the job reads or writes, by table, with the types it accepts.
var columns = map[string]map[string][]string{
	"users_user": {"id": integer, "email": text, "name": text, "visible": boolean},
	"contributions_contributiontype": {
		"id": integer, "name": text, "category_id": integer, "min_points": integer, "max_points": integer,
	},
	"contributions_contribution": {
		"id": integer, "created_at": timestamptz, "updated_at": timestamptz, "user_id": integer,
		"contribution_type_id": integer, "points": integer, "frozen_global_points": integer,
		"multiplier_at_creation": numeric, "contribution_date": timestamptz, "notes": text,
	},
	"leaderboard_globalleaderboardmultiplier": {
		"id": integer, "contribution_type_id": integer, "multiplier_value": numeric, "valid_from": timestamptz,
	},
	"leaderboard_leaderboardentry": {
		"id": integer, "created_at": timestamptz, "updated_at": timestamptz, "user_id": integer,
		"category_id": integer, "total_points": integer, "rank": integer,
	},
}

// inserted is, for each table the job inserts into, the columns its INSERT supplies. Any other
// NOT NULL column there must have a default (an identity id has one), or the insert would fail
// half-way through Django's next migration.
var inserted = map[string][]string{
	"contributions_contribution": {
		"created_at", "updated_at", "user_id", "contribution_type_id", "points", "frozen_global_points",
		"multiplier_at_creation", "contribution_date", "notes",
	},
	"leaderboard_leaderboardentry": {"created_at", "updated_at", "user_id", "category_id", "total_points", "rank"},
}

type column struct {
	Table      string `db:"table_name"`
	Name       string `db:"column_name"`
	Type       string `db:"type"`
	NotNull    bool   `db:"not_null"`
	HasDefault bool   `db:"has_default"`
}

// CheckSchema refuses a schema the job cannot write safely, naming the first column at fault,
// and a role that may not do what a run does, naming what it lacks.
func CheckSchema(ctx context.Context, tx *sqlx.Tx) error {
	tables := slices.Sorted(maps.Keys(columns))
	var found []column
	err := tx.SelectContext(ctx, &found, `
		SELECT t.name AS table_name, a.attname AS column_name, format_type(a.atttypid, NULL) AS type,
		       a.attnotnull AS not_null, (a.atthasdef OR a.attidentity <> '' OR a.attgenerated <> '') AS has_default
		FROM unnest($1::text[]) AS t (name)
		JOIN pg_attribute AS a ON a.attrelid = to_regclass('public.' || t.name)
		WHERE a.attnum > 0 AND NOT a.attisdropped
		ORDER BY t.name, a.attnum`, pq.Array(tables))
	if err != nil {
		return fmt.Errorf("read the schema: %w", err)
	}
	if err := checkColumns(found); err != nil {
		return err
	}
	return checkPrivileges(ctx, tx)
}

func checkColumns(found []column) error {
	byTable := map[string]map[string]column{}
	for _, c := range found {
		if byTable[c.Table] == nil {
			byTable[c.Table] = map[string]column{}
		}
		byTable[c.Table][c.Name] = c
	}
	for _, table := range slices.Sorted(maps.Keys(columns)) {
		have, ok := byTable[table]
		if !ok {
			return &SchemaError{fmt.Sprintf("table %s is missing: this is not a Tally database the job knows", table)}
		}
		for _, name := range slices.Sorted(maps.Keys(columns[table])) {
			want := columns[table][name]
			c, ok := have[name]
			if !ok {
				return &SchemaError{fmt.Sprintf("column %s.%s is missing", table, name)}
			}
			if !slices.Contains(want, c.Type) {
				return &SchemaError{fmt.Sprintf("column %s.%s is %s, but the job needs %s", table, name, c.Type, strings.Join(want, " or "))}
			}
		}
	}
	for _, table := range slices.Sorted(maps.Keys(inserted)) {
		for _, c := range found {
			if c.Table != table || !c.NotNull || c.HasDefault || slices.Contains(inserted[table], c.Name) {
				continue
			}
			return &SchemaError{fmt.Sprintf(
				"column %s.%s is NOT NULL without a default, and the job does not know what to write into it; update the job for this Django migration",
				table, c.Name)}
		}
	}
	return nil
}
