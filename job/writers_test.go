package main

// The app's write paths, as Tally's Django code at d6d6302c runs them (testdata/tally/README.md),
// beside the job. The settings have no ATOMIC_REQUESTS, so:
//   - the staff review of a submission saves in autocommit: the contribution's INSERT commits
//     alone, then its evidence, then each leaderboard statement alone;
//   - the admin add form saves in one transaction (the admin's atomic view);
//   - the admin's create-validator form, in one transaction, asks exists() for the user, type and
//     UTC day, then inserts: check-then-insert, with no lock;
//   - the admin's user delete runs Django's collector: it reads the user's contributions, deletes
//     their leaderboard entries, evidence, highlights and validator profile, then the
//     contributions it read, by id, then the user;
//   - every contribution save runs the post_save signal: the user's totals, each read and written
//     by update_or_create (SELECT ... FOR UPDATE, then UPDATE or INSERT), then every board
//     re-ranked one UPDATE per entry.
// Writers overlap freely on a small set of hot users. Every statement is timed and every error
// kept with its SQLSTATE: what the app would feel.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/lib/pq"
	"github.com/tally/uptime/internal/testdb"
)

// appStatement is one statement an app session sent: when, how long it took, how it ended.
type appStatement struct {
	start time.Time
	took  time.Duration
	path  string
	query string
	err   error
}

// appSession is one Django worker's connection.
type appSession struct {
	conn  *sql.Conn
	path  string // the write path it is on now, for the record
	stmts []appStatement
}

func (s *appSession) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	start := time.Now()
	res, err := s.conn.ExecContext(ctx, q, args...)
	s.stmts = append(s.stmts, appStatement{start, time.Since(start), s.path, q, err})
	return res, err
}

func (s *appSession) queryRow(ctx context.Context, q string, args []any, dest ...any) error {
	start := time.Now()
	err := s.conn.QueryRowContext(ctx, q, args...).Scan(dest...)
	if errors.Is(err, sql.ErrNoRows) {
		err = nil
		for _, d := range dest {
			if p, ok := d.(*int64); ok {
				*p = 0
			}
		}
	}
	s.stmts = append(s.stmts, appStatement{start, time.Since(start), s.path, q, err})
	return err
}

func (s *appSession) ids(ctx context.Context, q string, args ...any) ([]int64, error) {
	start := time.Now()
	var out []int64
	rows, err := s.conn.QueryContext(ctx, q, args...)
	if err == nil {
		for rows.Next() {
			var id int64
			if err = rows.Scan(&id); err != nil {
				break
			}
			out = append(out, id)
		}
		rows.Close()
		if err == nil {
			err = rows.Err()
		}
	}
	s.stmts = append(s.stmts, appStatement{start, time.Since(start), s.path, q, err})
	return out, err
}

// appWorld is what the writers share: the ids they need and the users they may touch.
type appWorld struct {
	uptime, pr int64
	boards     []sql.NullInt64 // nil for the global board, then each category
	hot        []int64         // users every writer saves for
	doomed     chan int64      // users the delete path may delete, each once
	daysBack   int
}

// appWriter is one writer: a session, a random source and what it committed.
type appWriter struct {
	appSession
	w         *appWorld
	rng       *rand.Rand
	committed []int64 // contributions it committed, of users nobody deletes
	deletes   int
}

// run picks a write path at random, as an admin and the staff would, until ctx ends.
func (a *appWriter) run(ctx context.Context) {
	// Deletes are an admin's rare act; still about one a second across the writers here.
	paths := []func(context.Context) error{a.reviewSave, a.reviewSave, a.reviewSave, a.adminAdd, a.adminAdd,
		a.createValidator, a.createValidator, a.createValidator}
	for ctx.Err() == nil {
		path := paths[a.rng.IntN(len(paths))]
		if a.rng.IntN(12) == 0 {
			path = a.deleteUser
		}
		_ = path(context.WithoutCancel(ctx))
	}
}

func (a *appWriter) user() int64 { return a.w.hot[a.rng.IntN(len(a.w.hot))] }

func (a *appWriter) day() time.Time {
	return time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -a.rng.IntN(a.w.daysBack+1))
}

// reviewSave is the staff review accepting a submission, in autocommit.
func (a *appWriter) reviewSave(ctx context.Context) error {
	a.path = "review"
	user, typ := a.user(), a.w.pr
	if a.rng.IntN(3) == 0 {
		typ = a.w.uptime // a submitted Uptime day: the review checks nothing
	}
	id, err := a.insertContribution(ctx, user, typ, 1+a.rng.Int64N(20), a.day().Add(time.Duration(a.rng.IntN(86400))*time.Second))
	if err != nil {
		return err
	}
	a.committed = append(a.committed, id)
	if _, err := a.exec(ctx, `INSERT INTO contributions_evidence (created_at, updated_at, contribution_id, description, url)
		VALUES (now(), now(), $1, 'copied from the submission', 'https://example.com/pr')`, id); err != nil {
		return err
	}
	return a.refreshLeaderboard(ctx, user, false)
}

// adminAdd is the admin's add form: one transaction.
func (a *appWriter) adminAdd(ctx context.Context) error {
	a.path = "admin add"
	user := a.user()
	return a.atomic(ctx, func() ([]int64, error) {
		id, err := a.insertContribution(ctx, user, a.w.pr, 1+a.rng.Int64N(20), time.Now())
		if err != nil {
			return nil, err
		}
		return []int64{id}, a.refreshLeaderboard(ctx, user, true)
	})
}

// createValidator is the admin's create-validator form for an existing user: Uptime and one
// other default type on a day, each checked with exists() and then inserted, in one transaction.
func (a *appWriter) createValidator(ctx context.Context) error {
	a.path = "create validator"
	user, day := a.user(), a.day()
	return a.atomic(ctx, func() ([]int64, error) {
		var profile int64
		if err := a.queryRow(ctx, "SELECT id FROM validators_validator WHERE user_id = $1", []any{user}, &profile); err != nil {
			return nil, err
		}
		if profile == 0 {
			if err := a.createProfile(ctx, user); err != nil {
				return nil, err
			}
		}
		var made []int64
		for _, typ := range []int64{a.w.uptime, a.w.pr} {
			var exists int64
			if err := a.queryRow(ctx, `SELECT 1 FROM contributions_contribution WHERE user_id = $1 AND contribution_type_id = $2
				AND (contribution_date AT TIME ZONE 'UTC')::date = $3::date LIMIT 1`, []any{user, typ, day}, &exists); err != nil {
				return nil, err
			}
			if exists == 1 {
				return nil, errValidation // the form's ValidationError: the atomic block rolls back
			}
			id, err := a.insertContribution(ctx, user, typ, 1, day)
			if err != nil {
				return nil, err
			}
			made = append(made, id)
			if err := a.refreshLeaderboard(ctx, user, true); err != nil {
				return nil, err
			}
		}
		return made, nil
	})
}

// createProfile is get_or_create's create: inside a savepoint, and a unique violation (another
// request created the profile first) answered by rolling back to it, which Django handles.
func (a *appWriter) createProfile(ctx context.Context, user int64) error {
	if _, err := a.exec(ctx, "SAVEPOINT goc"); err != nil {
		return err
	}
	_, err := a.exec(ctx, `INSERT INTO validators_validator (created_at, updated_at, user_id, node_version)
		VALUES (now(), now(), $1, '')`, user)
	var pqErr *pq.Error
	if errors.As(err, &pqErr) && pqErr.Code == "23505" {
		a.stmts[len(a.stmts)-1].err = nil // Django's get_or_create answers it: not a failure
		_, err = a.exec(ctx, "ROLLBACK TO SAVEPOINT goc")
		return err
	}
	if err != nil {
		return err
	}
	_, err = a.exec(ctx, "RELEASE SAVEPOINT goc")
	return err
}

// errValidation is a form refusing its input: the app's answer, not a failure.
var errValidation = errors.New("validation error")

// deleteUser is the admin deleting a user: Django's collector, children before parents.
func (a *appWriter) deleteUser(ctx context.Context) error {
	a.path = "delete user"
	var user int64
	select {
	case user = <-a.w.doomed:
	default:
		return nil
	}
	err := a.atomic(ctx, func() ([]int64, error) {
		// The collector reads the contributions (they have cascades of their own), then runs the
		// fast deletes (entries, evidence, highlights, the validator profile), then deletes the
		// contributions it read, by id, then the user.
		contributions, err := a.ids(ctx, "SELECT id FROM contributions_contribution WHERE user_id = $1", user)
		if err != nil {
			return nil, err
		}
		for _, q := range []struct {
			sql string
			ids []int64
		}{
			{"DELETE FROM leaderboard_leaderboardentry WHERE user_id = ANY ($1)", []int64{user}},
			{"DELETE FROM contributions_evidence WHERE contribution_id = ANY ($1)", contributions},
			{"DELETE FROM contributions_contributionhighlight WHERE contribution_id = ANY ($1)", contributions},
			{"DELETE FROM validators_validator WHERE user_id = ANY ($1)", []int64{user}},
			{"DELETE FROM contributions_contribution WHERE id = ANY ($1)", contributions},
			{"DELETE FROM users_user WHERE id = ANY ($1)", []int64{user}},
		} {
			if _, err := a.exec(ctx, q.sql, pq.Array(q.ids)); err != nil {
				return nil, err
			}
		}
		return nil, nil
	})
	if err == nil {
		a.deletes++
	}
	return err
}

// atomic runs body in one transaction, as Django's atomic block: committed ids are kept.
func (a *appWriter) atomic(ctx context.Context, body func() ([]int64, error)) error {
	if _, err := a.exec(ctx, "BEGIN"); err != nil {
		return err
	}
	ids, err := body()
	if err != nil {
		_, _ = a.conn.ExecContext(ctx, "ROLLBACK")
		return err
	}
	if _, err := a.exec(ctx, "COMMIT"); err != nil {
		return err
	}
	a.committed = append(a.committed, ids...)
	return nil
}

// insertContribution is Contribution.save() for a new row; multiplier 1.00, so frozen = points.
func (a *appWriter) insertContribution(ctx context.Context, user, typ, points int64, date time.Time) (int64, error) {
	var id int64
	err := a.queryRow(ctx, `
		INSERT INTO contributions_contribution (created_at, updated_at, user_id, contribution_type_id, points,
		       frozen_global_points, multiplier_at_creation, contribution_date, notes)
		VALUES (now(), now(), $1, $2, $3, $3, 1.00, $4, 'saved by the app') RETURNING id`,
		[]any{user, typ, points, date}, &id)
	return id, err
}

// refreshLeaderboard is update_user_leaderboard_entry: the user's totals, then every board
// re-ranked row by row. In autocommit each update_or_create is a transaction of its own; inside
// an atomic block, a savepoint.
func (a *appWriter) refreshLeaderboard(ctx context.Context, user int64, inAtomic bool) error {
	for _, board := range a.w.boards {
		var total int64
		if err := a.queryRow(ctx, `
			SELECT coalesce(sum(c.frozen_global_points), 0) FROM contributions_contribution AS c
			JOIN contributions_contributiontype AS t ON t.id = c.contribution_type_id
			WHERE c.user_id = $1 AND ($2::bigint IS NULL OR t.category_id = $2)`, []any{user, board}, &total); err != nil {
			return err
		}
		if board.Valid && total == 0 {
			continue // no category entry without points
		}
		if err := a.updateOrCreate(ctx, user, board, total, inAtomic); err != nil {
			return err
		}
	}
	for _, board := range a.w.boards {
		if err := a.rerank(ctx, board); err != nil {
			return err
		}
	}
	return nil
}

func (a *appWriter) updateOrCreate(ctx context.Context, user int64, board sql.NullInt64, total int64, inAtomic bool) error {
	begin, end := "BEGIN", "COMMIT"
	if inAtomic {
		begin, end = "SAVEPOINT uoc", "RELEASE SAVEPOINT uoc"
	}
	if _, err := a.exec(ctx, begin); err != nil {
		return err
	}
	var id int64
	err := a.queryRow(ctx, `SELECT id FROM leaderboard_leaderboardentry
		WHERE user_id = $1 AND category_id IS NOT DISTINCT FROM $2::bigint LIMIT 21 FOR UPDATE`, []any{user, board}, &id)
	if err == nil && id != 0 {
		_, err = a.exec(ctx, "UPDATE leaderboard_leaderboardentry SET total_points = $2, updated_at = now() WHERE id = $1", id, total)
	} else if err == nil {
		_, err = a.exec(ctx, `INSERT INTO leaderboard_leaderboardentry (created_at, updated_at, user_id, category_id, total_points, rank)
			VALUES (now(), now(), $1, $2, $3, NULL)`, user, board, total)
	}
	if err != nil {
		if !inAtomic {
			_, _ = a.conn.ExecContext(ctx, "ROLLBACK")
		}
		return err
	}
	_, err = a.exec(ctx, end)
	return err
}

// rerank is LeaderboardEntry.update_category_ranks: invisible users unranked in one UPDATE, then
// one UPDATE per visible entry.
func (a *appWriter) rerank(ctx context.Context, board sql.NullInt64) error {
	if _, err := a.exec(ctx, `UPDATE leaderboard_leaderboardentry SET rank = NULL
		WHERE category_id IS NOT DISTINCT FROM $1::bigint AND user_id IN (SELECT id FROM users_user WHERE NOT visible)`, board); err != nil {
		return err
	}
	entries, err := a.ids(ctx, `SELECT e.id FROM leaderboard_leaderboardentry AS e JOIN users_user AS u ON u.id = e.user_id
		WHERE e.category_id IS NOT DISTINCT FROM $1::bigint AND u.visible ORDER BY e.total_points DESC, u.name`, board)
	if err != nil {
		return err
	}
	for i, id := range entries {
		if _, err := a.exec(ctx, "UPDATE leaderboard_leaderboardentry SET rank = $2 WHERE id = $1", id, i+1); err != nil {
			return err
		}
	}
	return nil
}

// startAppWriters starts n writers on db, all on the same hot users; the delete path takes its
// users from the doomed ones only, so that no other writer saves for a user that is gone.
func startAppWriters(t *testing.T, db *testdb.DB, n int, seed uint64, daysBack int) (stop func() []*appWriter) {
	t.Helper()
	w := &appWorld{daysBack: daysBack, doomed: make(chan int64, 1000)}
	if err := db.QueryRow(`SELECT (SELECT id FROM contributions_contributiontype WHERE name = 'Uptime'),
		       (SELECT id FROM contributions_contributiontype WHERE name = 'Pull Request')`).Scan(&w.uptime, &w.pr); err != nil {
		t.Fatal(err)
	}
	if err := db.Select(&w.boards, "SELECT NULL::bigint UNION ALL (SELECT id FROM contributions_category ORDER BY id)"); err != nil {
		t.Fatal(err)
	}
	var users []int64
	if err := db.Select(&users, "SELECT id FROM users_user ORDER BY id"); err != nil {
		t.Fatal(err)
	}
	w.hot = users[:min(20, len(users))]
	for _, u := range users[len(w.hot):] {
		if len(w.doomed) < cap(w.doomed) && u%7 == 0 {
			w.doomed <- u
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	ws := make([]*appWriter, n)
	var wg sync.WaitGroup
	for i := range ws {
		conn, err := db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		ws[i] = &appWriter{appSession: appSession{conn: conn}, w: w, rng: rand.New(rand.NewPCG(seed, uint64(i)))}
		wg.Add(1)
		go func() { defer wg.Done(); ws[i].run(ctx) }()
	}
	return func() []*appWriter {
		cancel()
		wg.Wait()
		for _, a := range ws {
			a.conn.Close()
		}
		return ws
	}
}

// appErrors lists the app's failed statements, by path and SQLSTATE.
func appErrors(ws []*appWriter) []string {
	var out []string
	for _, a := range ws {
		for _, s := range a.stmts {
			if s.err == nil {
				continue
			}
			var pqErr *pq.Error
			code := "?"
			if errors.As(s.err, &pqErr) {
				code = string(pqErr.Code)
			}
			out = append(out, fmt.Sprintf("%s: %s %v", s.path, code, s.err))
		}
	}
	return out
}
