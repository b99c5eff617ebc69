-- The changed users' doubled Uptime days, read afresh: among them any day the app filled while
-- the run inserted its own row for it.
--   $1 the Uptime type's id
INSERT INTO uptime_doubled (user_id, day)
SELECT c.user_id, c.contribution_date::date
FROM public.contributions_contribution AS c
WHERE c.user_id IN (SELECT user_id FROM uptime_changed)
  AND c.contribution_type_id = $1 AND c.contribution_date IS NOT NULL
GROUP BY c.user_id, c.contribution_date::date
HAVING count(*) > 1
ON CONFLICT DO NOTHING
