-- The run's only pass over contributions_contribution. For the users in scope it records which
-- UTC days have Uptime, as bitmaps of 128 days, and each user's points per contribution type, from
-- which the leaderboard totals follow without reading the table again. Undated rows count for
-- points and start nothing. (The transaction's TimeZone is UTC, so ::date is the UTC day.) A real
-- run reads it without a table lock: what the app commits after this statement, the locked phase
-- catches up with (catch_up.sql).
--   $1 the Uptime type's id
--   $2 the user ids to limit the run to (NULL: everyone)
WITH contributions AS (
    -- user_id + 0: as an expression the planner guesses the groups below from defaults (tens of
    -- thousands) and the hash table grows to the real count; from user_id's statistics it guessed
    -- a tenth of the rows, 1.1M groups at three years, and sized its buckets for them (20 MB of
    -- the run's 68 MB, where the real count is 100,000).
    SELECT user_id + 0 AS user_id,
           contribution_type_id AS type_id,
           frozen_global_points AS points,
           CASE WHEN contribution_type_id = $1 THEN contribution_date::date - DATE '0001-01-01' END AS day
    FROM public.contributions_contribution
    WHERE $2::bigint[] IS NULL OR user_id = ANY ($2::bigint[])
    -- OFFSET 0 keeps this a subquery, so each row's day is made once: flattened into the query
    -- below, the timestamp was turned into a day again for every expression that reads it.
    OFFSET 0
),
-- One hash table keyed by (user, type, block): a block only for dated Uptime rows, so other types
-- cost one group per user. (GROUPING SETS would keep two tables and double the work per row.)
-- Every user's whole history is read exactly, a bit per day of their span: a row count misses a
-- day doubled where another is missing, and any summary smaller than the span can be fooled the
-- same way. The bits are OR-ed as two bigints per 128-day block. A bigint is passed by value, so
-- a row costs a shift and an OR and allocates nothing (the bit(512) made and copied per row
-- before took 1.5 to 1.8 times as long), and 128 days make half the groups 64 would. Each bigint
-- is filled from its highest bit down, so that as bit(64) its first bit is the block's first day.
scanned AS (
    SELECT user_id, type_id, day / 128 AS block,
           sum(points) AS points,
           bit_or(CASE WHEN day % 128 < 64 THEN 1::bigint << (63 - day % 64) END) AS early,
           bit_or(CASE WHEN day % 128 >= 64 THEN 1::bigint << (63 - day % 64) END) AS late,
           count(day) AS rows
    FROM contributions
    GROUP BY user_id, type_id, day / 128
),
blocks AS (
    INSERT INTO uptime_blocks (user_id, block, days, rows)
    SELECT user_id, block, coalesce(early, 0)::bit(64) || coalesce(late, 0)::bit(64), rows
    FROM scanned
    WHERE block IS NOT NULL
)
INSERT INTO uptime_sums (user_id, type_id, points)
SELECT user_id, type_id, sum(points)
FROM scanned
GROUP BY user_id, type_id
