-- The new Uptime contributions, one per missing user-day, in user then day order as Tally's own
-- command would create them.
--   $1 the run's clock, $2 the Uptime type's id, $3 points per day
INSERT INTO contributions_contribution (
    created_at, updated_at, user_id, contribution_type_id, points, frozen_global_points,
    multiplier_at_creation, contribution_date, notes)
SELECT $1, $1, m.user_id, $2, $3, d.frozen, d.multiplier, d.contribution_date, d.notes
FROM uptime_missing AS m
JOIN uptime_days AS d USING (day)
ORDER BY m.user_id, m.day
