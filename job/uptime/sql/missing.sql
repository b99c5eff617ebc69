-- Every user-day in the window that has no Uptime contribution yet. Each block the window touches
-- is read as text, '1' for a day with Uptime and '0' for one without; only the blocks with a '0'
-- in the window are opened up, and in those only the days up to the last '1' are looked at one by
-- one (when there is a '0' among them): the days after it are all missing and are listed as a
-- range. So a night with one new day per user costs one short range per user, whatever the history.
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
           greatest(w.lo - b * 512, 0) AS from_bit,
           least(w.hi - b * 512, 511) AS to_bit
    FROM windows AS w
    CROSS JOIN LATERAL generate_series(w.lo / 512, w.hi / 512) AS b
    WHERE w.lo <= w.hi
),
-- The window's part of each block; a block without any Uptime is all '0'.
parts AS (
    SELECT wb.user_id, wb.block * 512 + wb.from_bit AS first,
           substr(coalesce(ub.days::text, repeat('0', 512)), wb.from_bit + 1, wb.to_bit - wb.from_bit + 1) AS part
    FROM window_blocks AS wb
    LEFT JOIN uptime_blocks AS ub USING (user_id, block)
),
incomplete AS (
    SELECT user_id, first, part,
           length(rtrim(part, '0')) AS filled   -- the days up to the last with Uptime
    FROM parts
    WHERE strpos(part, '0') > 0
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
