-- Each user's start day: the UTC date of their earliest dated Uptime contribution.
INSERT INTO uptime_starts (user_id, first_day)
SELECT user_id, min(first_day)
FROM uptime_blocks
GROUP BY user_id
ORDER BY user_id
