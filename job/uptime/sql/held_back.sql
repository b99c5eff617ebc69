-- Holds back the users whose missing days are not all covered by a multiplier: they leave the
-- plan (uptime_starts, uptime_missing, uptime_sums), so that the run writes nothing for them and
-- leaves their leaderboard totals as they are, and every other user is filled as usual. One
-- mistyped start day (0206-12-07) must not stop everyone's night. Returns them, by id.
-- The one-time EXISTS filter skips the pass over uptime_missing on a night every day is covered
-- (always with --force, whose fallback rate covers every day).
WITH held AS (
    SELECT m.user_id, min(m.day) AS first_uncovered, count(*) AS uncovered_days
    FROM uptime_missing AS m
    JOIN uptime_days AS d USING (day)
    WHERE d.multiplier IS NULL
      AND EXISTS (SELECT 1 FROM uptime_days WHERE multiplier IS NULL)
    GROUP BY m.user_id
),
missing_gone AS (
    DELETE FROM uptime_missing AS m USING held AS h WHERE m.user_id = h.user_id
),
sums_gone AS (
    DELETE FROM uptime_sums AS s USING held AS h WHERE s.user_id = h.user_id
),
starts_gone AS (
    DELETE FROM uptime_starts AS s USING held AS h WHERE s.user_id = h.user_id
)
-- The statement's snapshot still holds the deleted rows: each user's start day is read from it.
SELECT h.user_id, u.email, s.first_day AS start_day, h.first_uncovered, h.uncovered_days
FROM held AS h
JOIN uptime_starts AS s USING (user_id)
JOIN public.users_user AS u ON u.id = h.user_id
ORDER BY h.user_id
