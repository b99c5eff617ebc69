-- Each user's start day: the UTC date of their earliest dated Uptime contribution, the first bit
-- set in their first block. (Read from the bits' text, a few microseconds, once per user.)
INSERT INTO uptime_starts (user_id, first_day)
SELECT b.user_id, DATE '0001-01-01' + (b.block * 128 + strpos(b.days::text, '1') - 1)
FROM uptime_blocks AS b
JOIN (SELECT user_id, min(block) AS block FROM uptime_blocks GROUP BY user_id) AS f USING (user_id, block)
ORDER BY b.user_id
