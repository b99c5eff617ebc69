-- For every user in leaderboard_points: their global entry and one entry per category they
-- have points in, each set to the sum of their points, created when missing. The unique
-- (user_id, category_id) constraint does not cover NULL categories, so entries are matched on
-- coalesce(category_id, 0) (ids start at 1), never by ON CONFLICT.
--   $1 the caller's clock, for created_at and updated_at
WITH boards AS (
    SELECT p.user_id, t.category_id, sum(p.points)::integer AS total, GROUPING(t.category_id) = 1 AS is_global
    FROM leaderboard_points AS p
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
