-- For every user who got new contributions: their global entry and one entry per category they
-- have contributions in, each set to the sum of frozen_global_points over their contributions
-- (the sums the scan took, plus this run's new ones: the scan ran under the run's lock on the
-- contributions, so they are still the sums at commit), created when missing. The unique
-- (user_id, category_id) constraint does not cover NULL categories, so entries are matched on
-- coalesce(category_id, 0) (ids start at 1), never by ON CONFLICT.
--   $1 the run's clock
--   $2 the Uptime type's id
WITH new_points AS (
    SELECT m.user_id, sum(d.frozen) AS points
    FROM uptime_missing AS m
    JOIN uptime_days AS d USING (day)
    GROUP BY m.user_id
),
per_type AS (
    SELECT s.user_id, s.type_id,
           s.points + CASE WHEN s.type_id = $2 THEN n.points ELSE 0 END AS points
    FROM uptime_sums AS s
    JOIN new_points AS n USING (user_id)
),
boards AS (
    SELECT p.user_id, t.category_id, sum(p.points)::integer AS total, GROUPING(t.category_id) = 1 AS is_global
    FROM per_type AS p
    JOIN public.contributions_contributiontype AS t ON t.id = p.type_id
    GROUP BY GROUPING SETS ((p.user_id), (p.user_id, t.category_id))
),
entries AS (
    SELECT user_id, category_id, total
    FROM boards
    WHERE is_global OR category_id IS NOT NULL
),
updated AS (
    UPDATE public.leaderboard_leaderboardentry AS e
    SET total_points = b.total, updated_at = $1
    FROM entries AS b
    WHERE e.user_id = b.user_id
      AND coalesce(e.category_id, 0) = coalesce(b.category_id, 0)
      AND e.total_points <> b.total
    RETURNING 1
),
inserted AS (
    INSERT INTO public.leaderboard_leaderboardentry (created_at, updated_at, user_id, category_id, total_points, rank)
    SELECT $1, $1, b.user_id, b.category_id, b.total, NULL
    FROM entries AS b
    WHERE NOT EXISTS (
        SELECT 1
        FROM public.leaderboard_leaderboardentry AS e
        WHERE e.user_id = b.user_id
          AND coalesce(e.category_id, 0) = coalesce(b.category_id, 0))
    RETURNING 1
)
SELECT (SELECT count(*) FROM updated) AS updated, (SELECT count(*) FROM inserted) AS inserted
