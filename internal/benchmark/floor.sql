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
-- (floor_write.sql follows: the insert, the totals and the ranks.)
