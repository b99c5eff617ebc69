-- Every user-day in the window that has no Uptime contribution yet. Only blocks of 64 days with
-- a hole inside the window are opened up day by day, so a night with one new day per user costs
-- one block per user, not their whole history.
--   $1 the window's first day (NULL: each user's start day)
--   $2 the window's last day
INSERT INTO uptime_missing (user_id, day)
WITH windows AS (
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
)
SELECT i.user_id, DATE '0001-01-01' + (i.block * 64 + bit) AS day
FROM incomplete AS i
CROSS JOIN LATERAL generate_series(i.from_bit, i.to_bit) AS bit
WHERE i.days & (1::bigint << bit) = 0
