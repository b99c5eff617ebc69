-- What the plan amounts to, and which days (the first five) no multiplier covers.
--   $1 the window's first day (NULL: each user's start day)
--   $2 the window's last day
WITH uncovered AS (
    SELECT day
    FROM uptime_days AS d
    WHERE d.multiplier IS NULL
      AND EXISTS (SELECT 1 FROM uptime_missing AS m WHERE m.day = d.day)
)
SELECT
    (SELECT count(*) FROM uptime_starts) AS users_with_uptime,
    (SELECT coalesce(sum(greatest(0, $2::date - greatest(first_day, $1::date) + 1)), 0)
     FROM uptime_starts) AS days_in_window,
    (SELECT count(*) FROM uptime_missing) AS missing,
    (SELECT count(*) FROM uptime_starts AS s
     WHERE EXISTS (SELECT 1 FROM uptime_missing AS m WHERE m.user_id = s.user_id)) AS users_touched,
    (SELECT count(*) FROM uncovered) AS uncovered_days,
    (SELECT coalesce(array_agg(day ORDER BY day), '{}')
     FROM (SELECT day FROM uncovered ORDER BY day LIMIT 5) AS d) AS first_uncovered
