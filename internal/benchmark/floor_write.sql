-- The floors' common end (floor.sql, floor_nightly.sql: each ends its WITH chain with this): the
-- planned days inserted, then the totals of every user who got rows and every board ranked again.
inserted AS (
    INSERT INTO contributions_contribution (
        created_at, updated_at, user_id, contribution_type_id, points, frozen_global_points,
        multiplier_at_creation, contribution_date, notes)
    SELECT $1, $1, m.user_id, (SELECT id FROM uptime), $2::integer, round($2::integer * d.multiplier::float8)::integer,
           d.multiplier, m.day::timestamp AT TIME ZONE 'UTC', 'Auto-generated daily uptime for ' || to_char(m.day, 'YYYY-MM-DD')
    FROM missing AS m
    JOIN days AS d USING (day)
    RETURNING user_id, frozen_global_points
),
new_points AS (
    SELECT user_id, sum(frozen_global_points) AS points FROM inserted GROUP BY user_id
),
boards AS (
    SELECT p.user_id, t.category_id,
           sum(p.points + CASE WHEN p.type_id = (SELECT id FROM uptime) THEN n.points ELSE 0 END)::integer AS total,
           GROUPING(t.category_id) = 1 AS is_global
    FROM per_type AS p
    JOIN new_points AS n USING (user_id)
    JOIN contributions_contributiontype AS t ON t.id = p.type_id
    GROUP BY GROUPING SETS ((p.user_id), (p.user_id, t.category_id))
),
updated AS (
    UPDATE leaderboard_leaderboardentry AS e
    SET total_points = b.total, updated_at = $1
    FROM boards AS b
    WHERE (b.is_global OR b.category_id IS NOT NULL)
      AND e.user_id = b.user_id AND e.category_id IS NOT DISTINCT FROM b.category_id
      AND e.total_points <> b.total
)
INSERT INTO leaderboard_leaderboardentry (created_at, updated_at, user_id, category_id, total_points, rank)
SELECT $1, $1, b.user_id, b.category_id, b.total, NULL
FROM boards AS b
WHERE (b.is_global OR b.category_id IS NOT NULL)
  AND NOT EXISTS (SELECT 1 FROM leaderboard_leaderboardentry AS e
                  WHERE e.user_id = b.user_id AND e.category_id IS NOT DISTINCT FROM b.category_id);

-- 2. Every board ranked again: visible users by total, ties by name then id; invisible, no rank.
UPDATE leaderboard_leaderboardentry AS e
SET rank = r.rank
FROM (SELECT e.id, CASE WHEN u.visible THEN
                       row_number() OVER (PARTITION BY e.category_id, u.visible ORDER BY e.total_points DESC, u.name, u.id)
                   END AS rank
      FROM leaderboard_leaderboardentry AS e
      JOIN users_user AS u ON u.id = e.user_id) AS r
WHERE e.id = r.id AND e.rank IS DISTINCT FROM r.rank;
