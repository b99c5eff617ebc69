-- Each user's start day: the UTC date of their earliest dated Uptime contribution. Undated rows
-- start nothing.
--   $1 the Uptime type's id
--   $2 the user ids to limit the run to (NULL: everyone)
INSERT INTO uptime_starts (user_id, first_day)
SELECT user_id, (min(contribution_date) AT TIME ZONE 'UTC')::date
FROM contributions_contribution
WHERE contribution_type_id = $1
  AND contribution_date IS NOT NULL
  AND ($2::bigint[] IS NULL OR user_id = ANY ($2::bigint[]))
GROUP BY user_id
