-- Before the scan, in one snapshot older than the scan's: every leaderboard entry's total, and
-- the highest contribution id. Whatever the app commits that the scan does not see shows up in
-- the locked phase as a moved total or a higher id (catch_up.sql).
WITH entries AS (
    INSERT INTO uptime_entries (user_id, board, total)
    SELECT user_id, coalesce(category_id, 0), total_points
    FROM public.leaderboard_leaderboardentry
)
-- The maximum in a subquery of its own: beside a CTE, PostgreSQL does not answer max() from the end of
-- the primary key's index but reads all of it (0.4 s at 3.7M rows).
SELECT (SELECT coalesce(max(id), 0) FROM public.contributions_contribution)
