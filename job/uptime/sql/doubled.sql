-- The user-days the scan found doubled: only blocks with more Uptime rows than days are opened up,
-- so a clean history costs nothing here. A block whose rows fill as many consecutive days from its
-- first bit on (the user's start day in their first block, else the block's first day: all of a
-- clean history's blocks) has no doubled day, and is told so by shifting its missing days (~days),
-- without counting its bits; only the others count them, through the bits' text (bit_count is
-- PostgreSQL 14+), which costs some microseconds a block.
--   $1 the Uptime type's id
INSERT INTO uptime_doubled (user_id, day)
WITH suspect AS (
    SELECT user_id, block
    FROM (
        SELECT b.user_id, b.block, b.days, b.rows,
               greatest(s.first_day - DATE '0001-01-01' - b.block * 128, 0) AS lo
        FROM uptime_blocks AS b
        JOIN uptime_starts AS s USING (user_id)
    ) AS b
    WHERE CASE
        WHEN b.lo + b.rows <= 128 AND (~b.days << b.lo) >> (128 - b.rows::integer) = B'0'::bit(128) THEN false
        ELSE b.rows > length(replace(b.days::text, '0', ''))
    END
)
SELECT c.user_id, c.contribution_date::date
FROM suspect AS b
JOIN public.contributions_contribution AS c
  ON c.user_id = b.user_id AND c.contribution_type_id = $1 AND c.contribution_date IS NOT NULL
WHERE (c.contribution_date::date - DATE '0001-01-01') / 128 = b.block
GROUP BY c.user_id, c.contribution_date::date
HAVING count(*) > 1
