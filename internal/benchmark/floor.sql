-- The floor: the same work as one run of the job, written by hand for the data at hand, with
-- nothing the job needs for being general or safe (no scratch tables, no plan summary, no checks,
-- no lock, no chunks). It must leave exactly the database the job leaves, which the benchmark
-- checks after every run. Exact for data in which no user has two Uptime contributions on one
-- day (the job never writes one, and the benchmark's data has none): a user's dated Uptime rows then cover every
-- day from their first to their last exactly when there are as many rows as days in that span.
-- Two statements in one transaction, after the settings below.
--   $1 the run's clock, $2 points per day

-- The job's own session settings.
SET LOCAL work_mem = '64MB';
SET LOCAL jit = off;
-- Each statement's foreign-key checks at its end rather than at the commit: the same checks,
-- measured a little faster.
SET CONSTRAINTS ALL IMMEDIATE;
-- The planner, misled by the estimates of its CTEs, sorts millions of new rows by day for a merge
-- join with the few hundred days, where a hash join needs no sort and keeps the rows in user order.
SET LOCAL enable_mergejoin = off;

-- 1. One pass over contributions; the missing user-days inserted; the totals of every user who
-- got rows written to their global and category entries.
WITH uptime AS (
    SELECT id FROM contributions_contributiontype WHERE name = 'Uptime'
),
today AS (
    SELECT ($1::timestamptz AT TIME ZONE 'UTC')::date AS day
),
per_type AS (
    SELECT c.user_id, c.contribution_type_id AS type_id, sum(c.frozen_global_points) AS points,
           min((c.contribution_date AT TIME ZONE 'UTC')::date) AS first_day,
           max((c.contribution_date AT TIME ZONE 'UTC')::date) AS last_day,
           count(c.contribution_date) AS dated
    FROM contributions_contribution AS c
    GROUP BY c.user_id, c.contribution_type_id
),
starts AS (
    SELECT user_id, first_day, last_day, dated = last_day - first_day + 1 AS no_holes
    FROM per_type
    WHERE type_id = (SELECT id FROM uptime) AND dated > 0
),
days AS (
    SELECT d::date AS day, m.multiplier_value AS multiplier
    FROM generate_series((SELECT min(first_day) FROM starts), (SELECT day FROM today), interval '1 day') AS d
    CROSS JOIN LATERAL (
        SELECT g.multiplier_value
        FROM leaderboard_globalleaderboardmultiplier AS g
        WHERE g.contribution_type_id = (SELECT id FROM uptime)
          AND g.valid_from <= d::date::timestamp AT TIME ZONE 'UTC'
        ORDER BY g.valid_from DESC, g.id DESC
        LIMIT 1) AS m
),
missing AS (
    -- No holes: the days after the last.
    SELECT s.user_id, d::date AS day
    FROM starts AS s
    CROSS JOIN LATERAL generate_series(s.last_day + 1, (SELECT day FROM today), interval '1 day') AS d
    WHERE s.no_holes
    UNION ALL
    -- Holes: every day from the first that has no Uptime contribution.
    SELECT s.user_id, d::date
    FROM starts AS s
    CROSS JOIN LATERAL generate_series(s.first_day, (SELECT day FROM today), interval '1 day') AS d
    WHERE NOT s.no_holes
      AND NOT EXISTS (
          SELECT 1 FROM contributions_contribution AS c
          WHERE c.user_id = s.user_id AND c.contribution_type_id = (SELECT id FROM uptime)
            AND (c.contribution_date AT TIME ZONE 'UTC')::date = d::date)
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
