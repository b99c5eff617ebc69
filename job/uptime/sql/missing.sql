-- Every user-day in the window that has no Uptime contribution yet, with what its new
-- contribution gets from the multiplier in force at that day's 00:00 UTC. Only blocks of
-- 64 days with a hole inside the window are opened up day by day, so a night with one new day
-- per user costs one block per user, not their whole history.
--   $1 the window's first day (NULL: each user's start day)
--   $2 the window's last day
--   $3, $4, $5 the rates: valid_from, multiplier and frozen points, ordered by valid_from
INSERT INTO uptime_missing (user_id, day, multiplier, frozen)
WITH rates AS (
    SELECT *
    FROM unnest($3::timestamptz[], $4::numeric[], $5::integer[]) AS r (valid_from, multiplier, frozen)
),
-- The window's days, each with its rate: a few thousand rows at most, so the per-day lookup is cheap.
day_rates AS (
    SELECT w.first_day + i AS day, r.multiplier, r.frozen
    FROM (SELECT greatest(min(first_day), $1::date) AS first_day FROM uptime_starts) AS w
    CROSS JOIN LATERAL generate_series(0, $2::date - w.first_day) AS i
    LEFT JOIN LATERAL (
        SELECT multiplier, frozen
        FROM rates
        WHERE valid_from <= (w.first_day + i)::timestamp AT TIME ZONE 'UTC'
        ORDER BY valid_from DESC
        LIMIT 1
    ) AS r ON true
),
windows AS (
    SELECT user_id,
           greatest(first_day, $1::date) - DATE '0001-01-01' AS lo,
           $2::date - DATE '0001-01-01' AS hi
    FROM uptime_starts
),
-- Each block a user's window touches, with the bit range of it inside the window.
window_blocks AS (
    SELECT w.user_id, b AS block,
           greatest(w.lo - b * 64, 0) AS from_bit,
           least(w.hi - b * 64, 63) AS to_bit
    FROM windows AS w
    CROSS JOIN LATERAL generate_series(w.lo / 64, w.hi / 64) AS b
    WHERE w.lo <= w.hi
),
incomplete AS (
    SELECT wb.user_id, wb.block, wb.from_bit, wb.to_bit, coalesce(ub.days, 0) AS days
    FROM window_blocks AS wb
    LEFT JOIN uptime_blocks AS ub USING (user_id, block)
    CROSS JOIN LATERAL (
        -- bits from_bit to to_bit set; shifting twice keeps every shift below 64
        SELECT ((-1)::bigint << wb.from_bit) & ~(((-1)::bigint << wb.to_bit) << 1) AS mask
    ) AS m
    WHERE coalesce(ub.days, 0) & m.mask <> m.mask
),
wanted AS (
    SELECT i.user_id, DATE '0001-01-01' + (i.block * 64 + bit) AS day
    FROM incomplete AS i
    CROSS JOIN LATERAL generate_series(i.from_bit, i.to_bit) AS bit
    WHERE i.days & (1::bigint << bit) = 0
)
SELECT w.user_id, w.day, dr.multiplier, dr.frozen
FROM wanted AS w
JOIN day_rates AS dr USING (day)
