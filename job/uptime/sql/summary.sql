-- What the plan amounts to, once the held-back users have left it (held_back.sql).
--   $1 the window's first day (NULL: each user's start day)
--   $2 the window's last day
WITH per_user AS (
    SELECT user_id, count(*) AS days
    FROM uptime_missing
    GROUP BY user_id
)
SELECT
    (SELECT count(*) FROM uptime_starts) AS users_with_uptime,
    (SELECT coalesce(sum(greatest(0, $2::date - greatest(first_day, $1::date) + 1)), 0)
     FROM uptime_starts) AS days_in_window,
    (SELECT coalesce(sum(days), 0) FROM per_user) AS missing,
    (SELECT count(*) FROM per_user) AS users_touched,
    (SELECT coalesce(max(days), 0) FROM per_user) AS most_days_one_user
