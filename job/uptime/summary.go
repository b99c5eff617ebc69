package uptime

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// HeldUser is a user the run held back: some of their missing days have no Uptime multiplier in
// force (a start day before the earliest multiplier, often a typo such as 0206-12-07), so they
// get nothing this run while everyone else is filled.
type HeldUser struct {
	ID             int64     `db:"user_id"`
	Email          string    `db:"email"`
	StartDay       time.Time `db:"start_day"`
	FirstUncovered time.Time `db:"first_uncovered"`
	UncoveredDays  int64     `db:"uncovered_days"`
}

// Reason is the sentence the log gives for holding u back: what is wrong and the two ways out.
func (u HeldUser) Reason() string {
	return fmt.Sprintf("user %d (%s) was held back: %d of their missing days, from %s, have no Uptime multiplier in force "+
		"(start day %s); correct their first Uptime contribution in Tally's admin, or add a multiplier valid from %s, and rerun",
		u.ID, u.Email, u.UncoveredDays, u.FirstUncovered.Format(DayLayout), u.StartDay.Format(DayLayout),
		u.FirstUncovered.Format(DayLayout))
}

// summarise holds back the users whose days cannot all be filled, then counts the plan. A --force
// plan over everyone that gives one user more than MaxForcedDays days is refused.
func (g Generator) summarise(ctx context.Context, tx *sqlx.Tx, opts Options) (Result, error) {
	held, err := holdBack(ctx, tx)
	if err != nil {
		return Result{}, err
	}
	from, to := opts.Window()
	var s struct {
		UsersWithUptime int64 `db:"users_with_uptime"`
		DaysInWindow    int64 `db:"days_in_window"`
		Missing         int64 `db:"missing"`
		UsersTouched    int64 `db:"users_touched"`
		MostDays        int64 `db:"most_days_one_user"`
	}
	if err := tx.GetContext(ctx, &s, sqlSummary, nullDay(from), to); err != nil {
		return Result{}, fmt.Errorf("summarise plan: %w", err)
	}
	// With --user, every user in the plan is one the operator named, so the bound is theirs to pass.
	if opts.Force && len(opts.Users) == 0 && s.MostDays > MaxForcedDays {
		return Result{}, refuseForced(ctx, tx)
	}
	res := Result{
		UsersWithUptime:      s.UsersWithUptime,
		UsersTouched:         s.UsersTouched,
		ContributionsCreated: s.Missing,
		DaysSkipped:          s.DaysInWindow - s.Missing,
		MostDaysOneUser:      s.MostDays,
		HeldBack:             held,
	}
	if opts.Verbose {
		// Collected now and logged after the commit: a slow reader of the log must never hold
		// the run's transaction open.
		if err := tx.SelectContext(ctx, &res.Users, sqlUserDetail); err != nil {
			return Result{}, fmt.Errorf("list users' new days: %w", err)
		}
	}
	return res, nil
}

// holdBack takes the users with uncovered missing days out of the plan and returns them; nil
// when there are none.
func holdBack(ctx context.Context, tx *sqlx.Tx) ([]HeldUser, error) {
	var held []HeldUser
	if err := tx.SelectContext(ctx, &held, sqlHeldBack); err != nil {
		return nil, fmt.Errorf("hold back users with uncovered days: %w", err)
	}
	if len(held) == 0 {
		return nil, nil
	}
	// The plan shrank: the insert and the locked phase plan for what is left.
	for _, table := range []string{"uptime_missing", "uptime_starts"} {
		if err := analyze(ctx, tx, table); err != nil {
			return nil, err
		}
	}
	return held, nil
}

// refuseForced names the users a --force plan would give more than MaxForcedDays days.
func refuseForced(ctx context.Context, tx *sqlx.Tx) error {
	var users []ForcedUser
	if err := tx.SelectContext(ctx, &users, `
		SELECT m.user_id, u.email, count(*) AS days, min(m.day) AS first_day, count(*) OVER () AS over
		FROM uptime_missing AS m
		JOIN public.users_user AS u ON u.id = m.user_id
		GROUP BY m.user_id, u.email
		HAVING count(*) > $1
		ORDER BY days DESC, m.user_id
		LIMIT 5`, MaxForcedDays); err != nil {
		return fmt.Errorf("find the users --force would give most days: %w", err)
	}
	var count int64
	if len(users) > 0 {
		count = users[0].Over
	}
	return tooManyForcedError(users, count)
}
