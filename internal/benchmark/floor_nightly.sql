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
-- (floor_write.sql follows: the insert, the totals and the ranks.)
