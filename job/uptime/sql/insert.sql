-- The new Uptime contributions, one per missing user-day. They go in as planned, user by user
-- (uptime_starts is filled in user order), without a sort: sorting millions of full rows cost more
-- than the order is worth.
--   $1 the run's clock, $2 the Uptime type's id, $3 points per day
INSERT INTO public.contributions_contribution (
    created_at, updated_at, user_id, contribution_type_id, points, frozen_global_points,
    multiplier_at_creation, contribution_date, notes)
SELECT $1, $1, m.user_id, $2, $3, d.frozen, d.multiplier, d.contribution_date, d.notes
FROM uptime_missing AS m
JOIN uptime_days AS d USING (day)
