-- The run's only pass over contributions_contribution. For the users in scope it records which
-- UTC days have Uptime, as 64-day bitmaps, and each user's points per contribution type, from
-- which the leaderboard totals follow without reading the table again. Undated rows count for
-- points and start nothing. (The transaction's TimeZone is UTC, so ::date is the UTC day.) A real
-- run reads it without a table lock: what the app commits after this statement, the locked phase
-- catches up with (catch_up.sql).
--   $1 the Uptime type's id
--   $2 the user ids to limit the run to (NULL: everyone)
WITH contributions AS (
    SELECT user_id,
           contribution_type_id AS type_id,
           frozen_global_points AS points,
           CASE WHEN contribution_type_id = $1 THEN contribution_date::date - DATE '0001-01-01' END AS day
    FROM public.contributions_contribution
    WHERE $2::bigint[] IS NULL OR user_id = ANY ($2::bigint[])
),
-- One hash table keyed by (user, type, block): a block only for dated Uptime rows, so other types
-- cost one group per user. (GROUPING SETS would keep two tables and double the work per row.)
scanned AS (
    SELECT user_id, type_id, day / 64 AS block,
           sum(points) AS points,
           bit_or(1::bigint << (day % 64)) AS days,
           min(day) AS first_day,
           count(*) AS rows
    FROM contributions
    GROUP BY user_id, type_id, day / 64
),
blocks AS (
    INSERT INTO uptime_blocks (user_id, block, days, first_day, rows)
    SELECT user_id, block, days, DATE '0001-01-01' + first_day, rows
    FROM scanned
    WHERE block IS NOT NULL
)
INSERT INTO uptime_sums (user_id, type_id, points)
SELECT user_id, type_id, sum(points)
FROM scanned
GROUP BY user_id, type_id
