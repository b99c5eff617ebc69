package uptime

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

//go:embed sql/*.sql
var queries embed.FS

func query(name string) string {
	b, err := queries.ReadFile("sql/" + name + ".sql")
	if err != nil {
		panic(fmt.Sprintf("embedded query %s: %v", name, err)) // a build mistake, not a runtime condition
	}
	return string(b)
}

var (
	sqlTempTables     = query("temp_tables")
	sqlBeforeScan     = query("before_scan")
	sqlScan           = query("scan")
	sqlStarts         = query("starts")
	sqlDoubled        = query("doubled")
	sqlDays           = query("days")
	sqlMissing        = query("missing")
	sqlHeldBack       = query("held_back")
	sqlSummary        = query("summary")
	sqlUserDetail     = query("user_detail")
	sqlInsert         = query("insert")
	sqlNewPoints      = query("new_points")
	sqlCatchUp        = query("catch_up")
	sqlDoubledChanged = query("doubled_changed")
	sqlDedupe         = query("dedupe")
	sqlRecount        = query("recount")
	sqlPoints         = query("points")
)

// Result is what a run did, or in a dry run would do.
type Result struct {
	UsersWithUptime      int64      // users in scope with at least one dated Uptime contribution
	UsersTouched         int64      // users who get new contributions
	ContributionsCreated int64      // new Uptime contributions
	DaysSkipped          int64      // user-days in the window that already had an Uptime contribution
	EntriesUpdated       int64      // leaderboard entries whose total changed
	EntriesCreated       int64      // leaderboard entries created
	RanksChanged         int64      // leaderboard entries whose rank changed
	DuplicatesRemoved    int64      // Uptime contributions removed from days that had more than one
	MostDaysOneUser      int64      // the most new contributions one user gets (--force's dry run shows it)
	Users                []UserDays // --verbose: who gets new days, logged once the run has committed
	// HeldBack are the users who get nothing because some of their missing days have no
	// multiplier in force (exit 5); nil when there are none.
	HeldBack []HeldUser
}

// UserDays is one user's new days, for --verbose.
type UserDays struct {
	Email    string    `db:"email"`
	Days     int64     `db:"days"`
	FirstDay time.Time `db:"first_day"`
	LastDay  time.Time `db:"last_day"`
}

// Generator runs the plan inside a transaction that its caller owns: the caller commits, or
// rolls back for a dry run or on any error.
type Generator struct {
	Log *slog.Logger
	// Watch gives way to app sessions that wait on the run (store.Yielder): told when the locked
	// phase starts (whose budget bounds the waits for its table locks), and asked between the
	// run's statements whether it has given way. Nil watches nothing.
	Watch Watch
	// LockedBudget is how long the run may hold its table locks; 0 means DefaultLockedBudget.
	LockedBudget time.Duration
}

// Watch is what the generator needs of store.Yielder.
type Watch interface {
	Pause(bool)
	Check() error
}

// uptimeType is the contribution type named exactly "Uptime".
type uptimeType struct {
	ID         int64         `db:"id"`
	CategoryID sql.NullInt64 `db:"category_id"`
	MinPoints  sql.NullInt64 `db:"min_points"`
	MaxPoints  sql.NullInt64 `db:"max_points"`
}

// Run fills the missing Uptime contributions described by opts and refreshes the leaderboards.
// A *DataError means the data does not allow the run; a *BusyError, that the app kept the run
// from its locks within its budget, and the caller may try again.
func (g Generator) Run(ctx context.Context, tx *sqlx.Tx, opts Options) (Result, error) {
	if err := opts.Validate(); err != nil {
		return Result{}, err
	}
	typ, plannedRates, err := g.prepare(ctx, tx, opts)
	if err != nil {
		return Result{}, err
	}
	userIDs, err := resolveUsers(ctx, tx, opts.Users)
	if err != nil {
		return Result{}, err
	}
	// The plan, in temporary tables, read without any lock the app's writes would wait for.
	scanMaxID, err := scanBlocks(ctx, tx, typ.ID, userIDs)
	if err != nil {
		return Result{}, err
	}
	if err := findMissing(ctx, tx, opts, plannedRates); err != nil {
		return Result{}, err
	}
	res, err := g.summarise(ctx, tx, opts)
	if err != nil {
		return res, err
	}
	p := plan{result: res, scanMaxID: scanMaxID}
	if opts.DryRun {
		return g.rehearse(ctx, tx, opts, typ, p)
	}
	return g.write(ctx, tx, opts, typ, p)
}

// rehearse is a dry run's write: the real run's, all of it (inserts, duplicates, totals, ranks),
// rolled back to a savepoint taken before it, so that what a dry run reports is what a real run
// would change and nothing stays, whatever the caller does with the transaction. Rolling back to
// the savepoint also releases the locks the rehearsal took; the app waits on them as it would on a
// real run's last step.
func (g Generator) rehearse(ctx context.Context, tx *sqlx.Tx, opts Options, typ uptimeType, p plan) (Result, error) {
	if _, err := tx.ExecContext(ctx, "SAVEPOINT uptime_dry_run"); err != nil {
		return p.result, fmt.Errorf("begin the dry run's rehearsal: %w", err)
	}
	res, err := g.write(ctx, tx, opts, typ, p)
	if err != nil {
		return res, err // the caller rolls the whole transaction back
	}
	if _, err := tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT uptime_dry_run"); err != nil {
		return res, fmt.Errorf("roll the dry run's rehearsal back: %w", err)
	}
	return res, nil
}

// prepare loads the Uptime type and its multipliers, and checks the points against both. A tie
// between multipliers after the window is logged, once per pair, and the run goes on.
func (g Generator) prepare(ctx context.Context, tx *sqlx.Tx, opts Options) (uptimeType, []rate, error) {
	typ, err := loadUptimeType(ctx, tx)
	if err != nil {
		return typ, nil, err
	}
	if err := checkPoints(typ, opts.Points); err != nil {
		return typ, nil, err
	}
	history, err := loadMultipliers(ctx, tx, typ.ID)
	if err != nil {
		return typ, nil, err
	}
	_, lastDay := opts.Window()
	plannedRates, ties, err := rates(opts.Points, opts.Force, history, lastDay)
	for _, tie := range ties {
		g.Log.WarnContext(ctx, "two Uptime multipliers are valid from the same moment with different values; no day of "+
			"this run depends on them, but a later run will stop on them unless one is deleted or corrected in Tally's admin",
			"valid_from", tie.First.ValidFrom.UTC().Format(time.RFC3339),
			"multiplier_id", tie.First.ID, "multiplier_value", tie.First.Value,
			"other_multiplier_id", tie.Second.ID, "other_multiplier_value", tie.Second.Value)
	}
	return typ, plannedRates, err
}

// scanBlocks reads the users' Uptime contributions (all users, or userIDs) into runs of
// consecutive days, each user's first day and any doubled days. It returns the highest
// contribution id before the scan: the locked phase reads what lies above it again.
func scanBlocks(ctx context.Context, tx *sqlx.Tx, typeID int64, userIDs []int64) (int64, error) {
	// The SQL reads timestamps as UTC days; the run's transaction is UTC whatever the server's default.
	if _, err := tx.ExecContext(ctx, "SET LOCAL TIME ZONE 'UTC'"); err != nil {
		return 0, fmt.Errorf("set the time zone: %w", err)
	}
	if _, err := tx.ExecContext(ctx, sqlTempTables); err != nil {
		return 0, fmt.Errorf("create scratch tables: %w", err)
	}
	var scanMaxID int64
	if err := tx.GetContext(ctx, &scanMaxID, sqlBeforeScan); err != nil {
		return 0, fmt.Errorf("note the leaderboard before the scan: %w", err)
	}
	var users any
	if userIDs != nil {
		users = pq.Array(userIDs)
	}
	if _, err := tx.ExecContext(ctx, sqlScan, typeID, users); err != nil {
		return 0, fmt.Errorf("scan contributions: %w", err)
	}
	// Statistics of the join columns only: those of the 64-byte bitmaps took longer than the rest.
	if err := analyze(ctx, tx, "uptime_blocks (user_id, block)"); err != nil {
		return 0, err
	}
	if _, err := tx.ExecContext(ctx, sqlStarts); err != nil {
		return 0, fmt.Errorf("find start days: %w", err)
	}
	if _, err := tx.ExecContext(ctx, sqlDoubled, typeID); err != nil {
		return 0, fmt.Errorf("find doubled days: %w", err)
	}
	return scanMaxID, analyze(ctx, tx, "uptime_starts")
}

// findMissing rates every day of the window and keeps the user-days without a contribution.
func findMissing(ctx context.Context, tx *sqlx.Tx, opts Options, rs []rate) error {
	from, to := opts.Window()
	validFrom, multipliers, frozen := rateColumns(rs)
	if _, err := tx.ExecContext(ctx, sqlDays, nullDay(from), to,
		pq.Array(validFrom), pq.Array(multipliers), pq.Array(frozen)); err != nil {
		return fmt.Errorf("rate the window's days: %w", err)
	}
	if _, err := tx.ExecContext(ctx, sqlMissing, nullDay(from), to); err != nil {
		return fmt.Errorf("find missing days: %w", err)
	}
	return analyze(ctx, tx, "uptime_missing")
}

// analyze gives a scratch table fresh statistics, so that the statements reading it plan for
// its real size rather than a guess.
func analyze(ctx context.Context, tx *sqlx.Tx, table string) error {
	if _, err := tx.ExecContext(ctx, "ANALYZE "+table); err != nil {
		return fmt.Errorf("analyze %s: %w", table, err)
	}
	return nil
}

func loadUptimeType(ctx context.Context, tx *sqlx.Tx) (uptimeType, error) {
	var typ uptimeType
	err := tx.GetContext(ctx, &typ, `
		SELECT id, category_id, min_points, max_points
		FROM public.contributions_contributiontype
		WHERE name = 'Uptime'`)
	if errors.Is(err, sql.ErrNoRows) {
		return typ, dataErrorf("there is no contribution type named exactly %q: create it in Tally's admin first", "Uptime")
	}
	if err != nil {
		return typ, fmt.Errorf("load the Uptime type: %w", err)
	}
	return typ, nil
}

func checkPoints(typ uptimeType, points int) error {
	if typ.MinPoints.Valid && int64(points) < typ.MinPoints.Int64 ||
		typ.MaxPoints.Valid && int64(points) > typ.MaxPoints.Int64 {
		return dataErrorf("points %d is outside the Uptime type's range of %d to %d",
			points, typ.MinPoints.Int64, typ.MaxPoints.Int64)
	}
	return nil
}

// resolveUsers maps e-mail addresses (compared case-insensitively) to user ids; nil means
// everyone. An address that matches no user stops the run: a typo must not look like success. So
// does one that matches several (u1@example.com and U1@example.com are two users to Django): the
// job cannot tell which was meant.
func resolveUsers(ctx context.Context, tx *sqlx.Tx, emails []string) ([]int64, error) {
	if len(emails) == 0 {
		return nil, nil
	}
	lowered := make([]string, len(emails))
	for i, e := range emails {
		lowered[i] = strings.ToLower(e)
	}
	var found []struct {
		ID      int64  `db:"id"`
		Email   string `db:"email"`
		Lowered string `db:"lowered"`
	}
	if err := tx.SelectContext(ctx, &found, `
		SELECT id, email, lower(email) AS lowered FROM public.users_user WHERE lower(email) = ANY ($1) ORDER BY id`,
		pq.Array(lowered)); err != nil {
		return nil, fmt.Errorf("look up users: %w", err)
	}
	matches := make(map[string][]string, len(found))
	ids := make([]int64, 0, len(found))
	for _, f := range found {
		matches[f.Lowered] = append(matches[f.Lowered], fmt.Sprintf("%d (%s)", f.ID, f.Email))
		ids = append(ids, f.ID)
	}
	var unknown []string
	for i, e := range lowered {
		switch m := matches[e]; {
		case len(m) > 1:
			return nil, dataErrorf("--user %s matches %d users whose addresses differ only in case, ids %s; "+
				"the job cannot tell which is meant", emails[i], len(m), strings.Join(m, ", "))
		case len(m) == 0:
			unknown = append(unknown, emails[i])
		}
	}
	if len(unknown) > 0 {
		return nil, dataErrorf("no user has the e-mail address %s", strings.Join(unknown, ", "))
	}
	return ids, nil
}

func loadMultipliers(ctx context.Context, tx *sqlx.Tx, typeID int64) ([]Multiplier, error) {
	var history []Multiplier
	err := tx.SelectContext(ctx, &history, `
		SELECT id, valid_from, multiplier_value::text AS value
		FROM public.leaderboard_globalleaderboardmultiplier
		WHERE contribution_type_id = $1
		ORDER BY valid_from, id`, typeID)
	if err != nil {
		return nil, fmt.Errorf("load multipliers: %w", err)
	}
	return history, nil
}

func rateColumns(rs []rate) (validFrom, multipliers []string, frozen []int64) {
	for _, r := range rs {
		validFrom = append(validFrom, r.validFrom)
		multipliers = append(multipliers, r.multiplier)
		frozen = append(frozen, int64(r.frozen))
	}
	return validFrom, multipliers, frozen
}

func nullDay(d time.Time) any {
	if d.IsZero() {
		return nil
	}
	return d
}
