-- For every user who got new contributions: their global entry and one entry per category they
-- have contributions in, each set to the sum of frozen_global_points, created when missing.
-- The unique (user_id, category_id) constraint does not cover NULL categories, so entries are
-- matched on coalesce(category_id, 0) (ids start at 1), never by ON CONFLICT.
--   $1 the run's clock
WITH touched AS (
    SELECT DISTINCT user_id FROM uptime_missing
),
sums AS (
    SELECT c.user_id, t.category_id, GROUPING(t.category_id) = 1 AS is_global,
           sum(c.frozen_global_points)::integer AS total
    FROM contributions_contribution AS c
    JOIN touched USING (user_id)
    JOIN contributions_contributiontype AS t ON t.id = c.contribution_type_id
    GROUP BY GROUPING SETS ((c.user_id), (c.user_id, t.category_id))
),
boards AS (
    SELECT user_id, category_id, total
    FROM sums
    WHERE is_global OR category_id IS NOT NULL
),
updated AS (
    UPDATE leaderboard_leaderboardentry AS e
    SET total_points = b.total, updated_at = $1
    FROM boards AS b
    WHERE e.user_id = b.user_id
      AND coalesce(e.category_id, 0) = coalesce(b.category_id, 0)
      AND e.total_points <> b.total
    RETURNING 1
),
inserted AS (
    INSERT INTO leaderboard_leaderboardentry (created_at, updated_at, user_id, category_id, total_points, rank)
    SELECT $1, $1, b.user_id, b.category_id, b.total, NULL
    FROM boards AS b
    WHERE NOT EXISTS (
        SELECT 1
        FROM leaderboard_leaderboardentry AS e
        WHERE e.user_id = b.user_id
          AND coalesce(e.category_id, 0) = coalesce(b.category_id, 0))
    RETURNING 1
)
SELECT (SELECT count(*) FROM updated) AS updated, (SELECT count(*) FROM inserted) AS inserted
