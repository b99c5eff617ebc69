-- Every user-day in the window that has no Uptime contribution yet, with what its new
-- contribution gets from the multiplier in force at that day's 00:00 UTC.
--   $1 the Uptime type's id
--   $2 the window's first day (NULL: each user's start day)
--   $3 the window's last day
--   $4, $5, $6 the rates: valid_from, multiplier and frozen points, ordered by valid_from
INSERT INTO uptime_missing (user_id, day, multiplier, frozen)
WITH rates AS (
    SELECT *
    FROM unnest($4::timestamptz[], $5::numeric[], $6::integer[]) AS r (valid_from, multiplier, frozen)
),
-- The window's days, each with its rate: a few thousand rows at most, so the per-day lookup is cheap.
day_rates AS (
    SELECT w.first_day + i AS day, r.multiplier, r.frozen
    FROM (SELECT greatest(min(first_day), $2::date) AS first_day FROM uptime_starts) AS w
    CROSS JOIN LATERAL generate_series(0, $3::date - w.first_day) AS i
    LEFT JOIN LATERAL (
        SELECT multiplier, frozen
        FROM rates
        WHERE valid_from <= (w.first_day + i)::timestamp AT TIME ZONE 'UTC'
        ORDER BY valid_from DESC
        LIMIT 1
    ) AS r ON true
),
-- Days are dates plus whole numbers: date arithmetic, no time zones involved.
wanted AS (
    SELECT s.user_id, s.from_day + i AS day
    FROM (SELECT user_id, greatest(first_day, $2::date) AS from_day FROM uptime_starts) AS s
    CROSS JOIN LATERAL generate_series(0, $3::date - s.from_day) AS i
)
SELECT w.user_id, w.day, dr.multiplier, dr.frozen
FROM wanted AS w
JOIN day_rates AS dr USING (day)
WHERE NOT EXISTS (
    SELECT 1
    FROM contributions_contribution AS c
    WHERE c.contribution_type_id = $1
      AND c.user_id = w.user_id
      AND (c.contribution_date AT TIME ZONE 'UTC')::date = w.day
)
