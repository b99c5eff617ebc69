-- The run's only pass over contributions_contribution. For the users in scope it records which
-- UTC days have Uptime, as bitmaps of 512 days, and each user's points per contribution type, from
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
-- Why 512 days: every user's whole history must be read exactly (a row count misses a day doubled
-- where another is missing), which takes a bit per day of each user's span. With 64-day bigint
-- blocks that was six groups per user and year, a hash table too large for the processor's cache
-- (and 80 MB at three years); a bit(512) block keeps one or two groups per user and year, and
-- OR-ing 64 bytes per row costs less than the misses did. Bit n from the left is day
-- block * 512 + n.
scanned AS (
    SELECT user_id, type_id, day / 512 AS block,
           sum(points) AS points,
           bit_or(B'1'::bit(512) >> (day % 512)) AS days,
           count(day) AS rows
    FROM contributions
    GROUP BY user_id, type_id, day / 512
),
blocks AS (
    INSERT INTO uptime_blocks (user_id, block, days, rows)
    SELECT user_id, block, days, rows
    FROM scanned
    WHERE block IS NOT NULL
)
INSERT INTO uptime_sums (user_id, type_id, points)
SELECT user_id, type_id, sum(points)
FROM scanned
GROUP BY user_id, type_id
