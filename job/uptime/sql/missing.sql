-- Every user-day in the window that has no Uptime contribution yet. Only the blocks with a day
-- missing in the window are opened up, and in those only the days up to the last with Uptime are
-- looked at one by one (when one of them is missing): the days after it are all missing and are
-- listed as a range. So a night with one new day per user costs one short range per user,
-- whatever the history.
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
           greatest(w.lo - b * 128, 0) AS from_bit,
           least(w.hi - b * 128, 127) AS to_bit
    FROM windows AS w
    CROSS JOIN LATERAL generate_series(w.lo / 128, w.hi / 128) AS b
    WHERE w.lo <= w.hi
),
-- The blocks with a day missing in the window, told from the complete ones by shifting the missing
-- days (~days) so that only those from from_bit to to_bit stay, without turning bits into text.
-- A block without any Uptime is all missing.
gaps AS (
    SELECT wb.user_id, wb.block, wb.from_bit, wb.to_bit, ub.days
    FROM window_blocks AS wb
    LEFT JOIN uptime_blocks AS ub USING (user_id, block)
    WHERE ub.days IS NULL
       OR (~ub.days << wb.from_bit) >> (127 - wb.to_bit + wb.from_bit) <> B'0'::bit(128)
),
-- Their part in the window as text, '1' a day with Uptime and '0' one without. Materialized, so
-- that the text is made once a block rather than once for each expression that reads it.
incomplete AS MATERIALIZED (
    SELECT user_id, block * 128 + from_bit AS first, part,
           length(rtrim(part, '0')) AS filled   -- the days up to the last with Uptime
    FROM (
        SELECT user_id, block, from_bit,
               substr(coalesce(days::text, repeat('0', 128)), from_bit + 1, to_bit - from_bit + 1) AS part
        FROM gaps
    ) AS g
)
SELECT i.user_id, DATE '0001-01-01' + (i.first + k) AS day
FROM incomplete AS i
CROSS JOIN LATERAL (
    -- Holes before the last day with Uptime, looked for only when there is one.
    SELECT k
    FROM generate_series(0, i.filled - 1) AS k
    WHERE strpos(left(i.part, i.filled), '0') > 0 AND substr(i.part, k + 1, 1) = '0'
    UNION ALL
    -- The days after it.
    SELECT generate_series(i.filled, length(i.part) - 1)
) AS g (k)
