package store

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/tally/uptime/internal/testdb"
	"github.com/tally/uptime/job/connect"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// openURL is Open given DATABASE_URL's text, read as the job's configuration reads it.
func openURL(ctx context.Context, databaseURL string, wait time.Duration, log *slog.Logger) (*sqlx.DB, error) {
	target, err := connect.ParseURL(databaseURL)
	if err != nil {
		return nil, err
	}
	return Open(ctx, target, wait, log)
}

func TestCheckSchema(t *testing.T) {
	cases := []struct {
		name    string
		alter   string
		wantErr string // "" means the schema is accepted
	}{
		{"the schema as Django makes it", "", ""},
		{"a nullable column added", "ALTER TABLE contributions_contribution ADD COLUMN source text NULL", ""},
		{"a NOT NULL column with a default", "ALTER TABLE contributions_contribution ADD COLUMN source text NOT NULL DEFAULT 'job'", ""},
		{"a NOT NULL column on a table the job only reads", "ALTER TABLE users_user ADD COLUMN handle text NOT NULL", ""},
		{"a NOT NULL column without a default", "ALTER TABLE contributions_contribution ADD COLUMN source text NOT NULL",
			"contributions_contribution.source is NOT NULL without a default"},
		{"same on the leaderboard", "ALTER TABLE leaderboard_leaderboardentry ADD COLUMN season integer NOT NULL",
			"leaderboard_leaderboardentry.season is NOT NULL without a default"},
		{"an id without a default", "ALTER TABLE leaderboard_leaderboardentry ALTER COLUMN id DROP IDENTITY",
			"leaderboard_leaderboardentry.id is NOT NULL without a default"},
		{"a column the job needs dropped", "ALTER TABLE contributions_contribution DROP COLUMN notes",
			"contributions_contribution.notes is missing"},
		{"a timestamp without time zone", "ALTER TABLE contributions_contribution ALTER COLUMN contribution_date TYPE timestamp",
			"contributions_contribution.contribution_date is timestamp without time zone"},
		{"points as text", "ALTER TABLE contributions_contribution DROP CONSTRAINT contributions_contribution_points_check, ALTER COLUMN points TYPE text",
			"contributions_contribution.points is text"},
		{"a table gone", "DROP TABLE leaderboard_globalleaderboardmultiplier",
			"table leaderboard_globalleaderboardmultiplier is missing"},
		// Django's RemoveField leaves the column in pg_attribute as "........pg.dropped.N........".
		{"a column dropped by a migration", "ALTER TABLE contributions_contribution ADD COLUMN legacy int; " +
			"ALTER TABLE contributions_contribution DROP COLUMN legacy", ""},
		{"a serial column dropped on the leaderboard", "ALTER TABLE leaderboard_leaderboardentry ADD COLUMN legacy serial; " +
			"ALTER TABLE leaderboard_leaderboardentry DROP COLUMN legacy", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			db := testdb.New(t)
			if c.alter != "" {
				if _, err := db.Exec(c.alter); err != nil {
					t.Fatal(err)
				}
			}
			tx, err := db.Beginx()
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback()
			err = CheckSchema(context.Background(), tx)
			var schemaErr *SchemaError
			switch {
			case c.wantErr == "" && err != nil:
				t.Fatalf("CheckSchema = %v, want nil", err)
			case c.wantErr != "" && (!errors.As(err, &schemaErr) || !strings.Contains(err.Error(), c.wantErr)):
				t.Fatalf("CheckSchema = %v, want a SchemaError containing %q", err, c.wantErr)
			}
		})
	}
}

func TestOneRunAtATime(t *testing.T) {
	db := testdb.New(t)
	ctx := context.Background()
	first, err := openURL(ctx, db.URL, 0, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	second, err := openURL(ctx, db.URL, 0, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()

	tx, err := BeginRun(ctx, first)
	if err != nil {
		t.Fatalf("first run: %v", err)
	}
	if _, err := BeginRun(ctx, second); !errors.Is(err, ErrLocked) {
		t.Fatalf("second run while the first holds the lock: %v, want ErrLocked", err)
	}
	tx.Rollback() // the lock goes with the transaction
	again, err := BeginRun(ctx, second)
	if err != nil {
		t.Fatalf("a run after the first ended: %v", err)
	}
	again.Rollback()
}

func TestBeginRunTellsTheServerTheDeadline(t *testing.T) {
	db := testdb.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := openURL(ctx, db.URL, 0, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	tx, err := BeginRun(ctx, conn)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	var timeout, jit, check string
	for _, s := range []struct {
		dst  *string
		name string
	}{{&timeout, "statement_timeout"}, {&jit, "jit"}, {&check, "client_connection_check_interval"}} {
		if err := tx.Get(s.dst, "SHOW "+s.name); err != nil {
			t.Fatal(err)
		}
	}
	if timeout == "0" || !strings.HasSuffix(timeout, "s") && !strings.HasSuffix(timeout, "min") {
		t.Errorf("statement_timeout = %s, want about a minute", timeout)
	}
	if jit != "off" || check != "1s" {
		t.Errorf("jit = %s, client_connection_check_interval = %s; want off and 1s", jit, check)
	}
}

// closedPort is a loopback port with nothing listening.
func closedPort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func TestOpenRetriesUntilTheWaitEnds(t *testing.T) {
	url := "postgres://tally:Hunter2Secret@" + closedPort(t) + "/tally?sslmode=disable"

	start := time.Now()
	_, err := openURL(context.Background(), url, 0, quiet)
	if err == nil || time.Since(start) > 2*time.Second {
		t.Fatalf("no wait: err %v after %s, want a quick failure", err, time.Since(start))
	}

	start = time.Now()
	_, err = openURL(context.Background(), url, 1500*time.Millisecond, quiet)
	elapsed := time.Since(start)
	if err == nil || elapsed < time.Second || elapsed > 5*time.Second {
		t.Fatalf("1.5s wait: err %v after %s, want a failure after about 1.5s", err, elapsed)
	}
	if strings.Contains(err.Error(), "Hunter2Secret") || !strings.Contains(err.Error(), "attempt") {
		t.Errorf("error %q: want the attempts counted and no password", err)
	}
}

func TestOpenGivesUpAtOnceOnAMissingDatabase(t *testing.T) {
	db := testdb.New(t)
	url := strings.Replace(db.URL, "/"+db.Name, "/no_such_database", 1)
	start := time.Now()
	_, err := openURL(context.Background(), url, 30*time.Second, quiet)
	if err == nil || time.Since(start) > 5*time.Second {
		t.Fatalf("err %v after %s, want a failure without retrying for 30s", err, time.Since(start))
	}
}

func TestTransient(t *testing.T) {
	cases := []struct {
		err  error
		want bool
	}{
		{&pq.Error{Code: "40001"}, true},
		{&pq.Error{Code: "40P01"}, true},
		{&pq.Error{Code: "57P01"}, true},
		{fmt.Errorf("commit: %w", driver.ErrBadConn), true},
		{fmt.Errorf("insert: %w", io.ErrUnexpectedEOF), true},
		{&net.OpError{Op: "read", Err: syscall.ECONNRESET}, true},
		{&pq.Error{Code: "57014"}, false}, // query_canceled: our own deadline or signal
		{&pq.Error{Code: "23505"}, true},  // unique_violation: a concurrent writer got there first
		{&pq.Error{Code: "55P03"}, true},  // lock_not_available: lock_timeout on a writer's lock
		{&pq.Error{Code: "23503"}, false}, // foreign_key_violation
		{&pq.Error{Code: "42P01"}, false}, // undefined_table
		{context.DeadlineExceeded, false},
		{errors.New("something else"), false},
		{ErrLocked, false},
	}
	for _, c := range cases {
		if got := Transient(c.err); got != c.want {
			t.Errorf("Transient(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}
