-- The window's days, from the earliest start day in scope (or the window's first day) to its
-- last, each with the multiplier in force at its 00:00 UTC, the frozen points that gives, and the
-- contribution_date and notes its new contributions carry.
--   $1 the window's first day (NULL: each user's start day)
--   $2 the window's last day
--   $3, $4, $5 the rates: valid_from, multiplier and frozen points, ordered by valid_from
INSERT INTO uptime_days (day, multiplier, frozen, contribution_date, notes)
WITH rates AS (
    SELECT *
    FROM unnest($3::timestamptz[], $4::numeric[], $5::integer[]) AS r (valid_from, multiplier, frozen)
),
days AS (
    SELECT w.first_day + i AS day
    FROM (SELECT greatest(min(first_day), $1::date) AS first_day FROM uptime_starts) AS w
    CROSS JOIN LATERAL generate_series(0, $2::date - w.first_day) AS i
)
SELECT d.day, r.multiplier, r.frozen, d.day::timestamp AT TIME ZONE 'UTC',
       'Auto-generated daily uptime for ' || to_char(d.day, 'YYYY-MM-DD')
FROM days AS d
LEFT JOIN LATERAL (
    SELECT multiplier, frozen
    FROM rates
    WHERE valid_from <= d.day::timestamp AT TIME ZONE 'UTC'
    ORDER BY valid_from DESC
    LIMIT 1
) AS r ON true
