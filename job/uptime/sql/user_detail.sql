-- One row per user who gets new contributions, for --verbose.
SELECT u.email, count(*) AS days, min(m.day) AS first_day, max(m.day) AS last_day
FROM uptime_missing AS m
JOIN public.users_user AS u ON u.id = m.user_id
GROUP BY u.email
ORDER BY u.email
