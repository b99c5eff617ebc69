-- The new Uptime contributions, one per missing user-day, in user then day order as Tally's own
-- command would create them.
--   $1 the run's clock, $2 the Uptime type's id, $3 points per day
INSERT INTO contributions_contribution (
    created_at, updated_at, user_id, contribution_type_id, points, frozen_global_points,
    multiplier_at_creation, contribution_date, notes)
SELECT $1, $1, user_id, $2, $3, frozen,
       multiplier, day::timestamp AT TIME ZONE 'UTC',
       'Auto-generated daily uptime for ' || to_char(day, 'YYYY-MM-DD')
FROM uptime_missing
ORDER BY user_id, day
