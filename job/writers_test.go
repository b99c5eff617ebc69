package main

// Django-shaped writers beside the job. Each writer is one connection that does what a Django
// contribution save does, in one transaction at READ COMMITTED: write a contribution (insert a
// Pull Request, change one's points, or add an Uptime day if the user has none that day), then
// recompute the user's leaderboard entries read-modify-write (select the sum, update the entry or
// insert it) and re-rank each board. Every user belongs to one writer, and the writers take
// turns at the leaderboard among themselves, so that anything that breaks is between the app
// and the job, not between two app requests.

import (
	"context"
	"database/sql"
	"errors"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/tally/uptime/internal/testdb"
)

// writersTurnKey is the advisory lock the test's writers take turns at the leaderboard with.
const writersTurnKey = 7301_0001

// writerTx is one writer transaction: when it ran and how it ended.
type writerTx struct {
	start, end time.Time
	err        error
}

// writer is one Django-shaped writer and everything it committed.
type writer struct {
	conn      *sql.Conn
	rng       *rand.Rand
	users     []int64
	uptime    int64 // the Uptime type's id
	pr        int64 // the Pull Request type's id
	boards    []sql.NullInt64
	daysBack  int
	log       []writerTx
	inserted  []int64         // contributions it inserted, committed
	lastValue map[int64]int64 // contribution id -> frozen_global_points it last committed
}

// run saves contributions until ctx ends.
func (w *writer) run(ctx context.Context) {
	for ctx.Err() == nil {
		start := time.Now()
		err := w.save(w.users[w.rng.IntN(len(w.users))])
		if ctx.Err() != nil && err != nil {
			return // the test ended mid-save
		}
		w.log = append(w.log, writerTx{start: start, end: time.Now(), err: err})
	}
}

func (w *writer) save(user int64) error {
	ctx := context.Background()
	tx, err := w.conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	id, value, err := w.writeContribution(ctx, tx, user)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1)", writersTurnKey); err != nil {
		return err
	}
	for _, board := range w.boards {
		if err := refreshEntry(ctx, tx, user, board); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, rerankBoard, board); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	if id != 0 && value < 0 {
		w.inserted = append(w.inserted, id)
	} else if id != 0 {
		w.lastValue[id] = value
	}
	return nil
}

// writeContribution returns the id of the contribution it inserted (value -1) or updated (value
// its new frozen points); id 0 when the Uptime day it tried was taken.
func (w *writer) writeContribution(ctx context.Context, tx *sql.Tx, user int64) (id, value int64, err error) {
	switch w.rng.IntN(3) {
	case 0:
		points := 1 + w.rng.Int64N(20)
		err = tx.QueryRowContext(ctx, `
			INSERT INTO contributions_contribution (created_at, updated_at, user_id, contribution_type_id, points,
			       frozen_global_points, multiplier_at_creation, contribution_date, notes)
			VALUES (now(), now(), $1, $2, $3, $3, 1.00, now(), 'writer') RETURNING id`, user, w.pr, points).Scan(&id)
		return id, -1, err
	case 1:
		value = 1 + w.rng.Int64N(20)
		err = tx.QueryRowContext(ctx, `
			UPDATE contributions_contribution SET points = $3, frozen_global_points = $3, updated_at = now()
			WHERE id = (SELECT min(id) FROM contributions_contribution WHERE user_id = $1 AND contribution_type_id = $2)
			RETURNING id`, user, w.pr, value).Scan(&id)
		return id, value, err
	default:
		day := time.Now().UTC().AddDate(0, 0, -w.rng.IntN(w.daysBack+1)).Truncate(24 * time.Hour)
		when := day.Add(time.Duration(w.rng.IntN(24*60)) * time.Minute)
		err = tx.QueryRowContext(ctx, `
			INSERT INTO contributions_contribution (created_at, updated_at, user_id, contribution_type_id, points,
			       frozen_global_points, multiplier_at_creation, contribution_date, notes)
			SELECT now(), now(), $1, $2, 1, 1, 1.00, $3, 'writer uptime'
			WHERE NOT EXISTS (
			    SELECT 1 FROM contributions_contribution
			    WHERE user_id = $1 AND contribution_type_id = $2
			      AND (contribution_date AT TIME ZONE 'UTC')::date = ($3::timestamptz AT TIME ZONE 'UTC')::date)
			RETURNING id`, user, w.uptime, when).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return 0, 0, nil
		}
		return id, -1, err
	}
}

// refreshEntry is Django's read-modify-write of one of a user's entries.
func refreshEntry(ctx context.Context, tx *sql.Tx, user int64, board sql.NullInt64) error {
	var total, n int64
	if err := tx.QueryRowContext(ctx, `
		SELECT coalesce(sum(c.frozen_global_points), 0), count(*)
		FROM contributions_contribution AS c
		JOIN contributions_contributiontype AS t ON t.id = c.contribution_type_id
		WHERE c.user_id = $1 AND ($2::bigint IS NULL OR t.category_id = $2)`, user, board).Scan(&total, &n); err != nil {
		return err
	}
	if n == 0 {
		return nil
	}
	res, err := tx.ExecContext(ctx, `
		UPDATE leaderboard_leaderboardentry SET total_points = $3, updated_at = now()
		WHERE user_id = $1 AND category_id IS NOT DISTINCT FROM $2::bigint`, user, board, total)
	if err != nil {
		return err
	}
	if updated, _ := res.RowsAffected(); updated > 0 {
		return nil
	}
	_, err = tx.ExecContext(ctx, `
		INSERT INTO leaderboard_leaderboardentry (created_at, updated_at, user_id, category_id, total_points, rank)
		VALUES (now(), now(), $1, $2, $3, NULL)`, user, board, total)
	return err
}

const rerankBoard = `
	UPDATE leaderboard_leaderboardentry AS e SET rank = r.rank
	FROM (SELECT e.id, CASE WHEN u.visible THEN
	             row_number() OVER (PARTITION BY u.visible ORDER BY e.total_points DESC, u.name, u.id) END AS rank
	      FROM leaderboard_leaderboardentry AS e JOIN users_user AS u ON u.id = e.user_id
	      WHERE e.category_id IS NOT DISTINCT FROM $1::bigint) AS r
	WHERE e.id = r.id AND e.rank IS DISTINCT FROM r.rank`

// startWriters starts n writers on db, each owning every n-th user; stop ends them and returns them.
func startWriters(t *testing.T, db *testdb.DB, n int, seed uint64, daysBack int) (stop func() []*writer) {
	t.Helper()
	var uptime, pr int64
	var users []int64
	var boards []sql.NullInt64
	if err := db.QueryRow(`SELECT (SELECT id FROM contributions_contributiontype WHERE name = 'Uptime'),
		       (SELECT id FROM contributions_contributiontype WHERE name = 'Pull Request')`).Scan(&uptime, &pr); err != nil {
		t.Fatal(err)
	}
	if err := db.Select(&users, "SELECT id FROM users_user ORDER BY id"); err != nil {
		t.Fatal(err)
	}
	if err := db.Select(&boards, "SELECT NULL::bigint UNION ALL (SELECT id FROM contributions_category ORDER BY id)"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ws := make([]*writer, n)
	var wg sync.WaitGroup
	for i := range ws {
		conn, err := db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		w := &writer{conn: conn, rng: rand.New(rand.NewPCG(seed, uint64(i))), uptime: uptime, pr: pr,
			boards: boards, daysBack: daysBack, lastValue: map[int64]int64{}}
		for j := i; j < len(users); j += n {
			w.users = append(w.users, users[j])
		}
		ws[i] = w
		wg.Add(1)
		go func() { defer wg.Done(); w.run(ctx) }()
	}
	return func() []*writer {
		cancel()
		wg.Wait()
		for _, w := range ws {
			w.conn.Close()
		}
		return ws
	}
}
