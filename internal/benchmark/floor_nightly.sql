-- The nightly floor (issue 21): the least a nightly run can do, written by hand for data in which
-- no user has a hole, so that each user's only missing days are those after their last Uptime
-- day. One grouped pass over contributions (points per user and type, each user's last Uptime
-- contribution), the days after each last day inserted, the totals of every user who got rows
-- written to their global and category entries, every board ranked again: in one transaction,
-- with the same foreign keys, committed. It finds no hole, so it is exact only for such data;
-- the benchmark checks that it leaves exactly the database the job leaves.
--   $1 the run's clock, $2 points per day

-- The job's own session settings.
SET LOCAL work_mem = '64MB';
SET LOCAL jit = off;
SET CONSTRAINTS ALL IMMEDIATE;
SET LOCAL enable_mergejoin = off;

-- 1. The pass, the new days, the totals.
WITH uptime AS (
    SELECT id FROM contributions_contributiontype WHERE name = 'Uptime'
),
today AS (
    SELECT ($1::timestamptz AT TIME ZONE 'UTC')::date AS day
),
-- The last day is the UTC day of the latest contribution_date: the maximum is taken over the
-- timestamps, and only each user's is turned into a day.
per_type AS (
    SELECT c.user_id, c.contribution_type_id AS type_id, sum(c.frozen_global_points) AS points,
           max(c.contribution_date) AS last_at
    FROM contributions_contribution AS c
    GROUP BY c.user_id, c.contribution_type_id
),
lasts AS (
    SELECT user_id, (last_at AT TIME ZONE 'UTC')::date AS last_day
    FROM per_type
    WHERE type_id = (SELECT id FROM uptime) AND last_at IS NOT NULL
),
days AS (
    SELECT d::date AS day, m.multiplier_value AS multiplier
    FROM generate_series((SELECT min(last_day) + 1 FROM lasts), (SELECT day FROM today), interval '1 day') AS d
    CROSS JOIN LATERAL (
        SELECT g.multiplier_value
        FROM leaderboard_globalleaderboardmultiplier AS g
        WHERE g.contribution_type_id = (SELECT id FROM uptime)
          AND g.valid_from <= d::date::timestamp AT TIME ZONE 'UTC'
        ORDER BY g.valid_from DESC, g.id DESC
        LIMIT 1) AS m
),
missing AS (
    SELECT l.user_id, d::date AS day
    FROM lasts AS l
    CROSS JOIN LATERAL generate_series(l.last_day + 1, (SELECT day FROM today), interval '1 day') AS d
),
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
