-- The changed users' points per contribution type, read under the lock: this run's own rows
-- included, the doubled ones just removed excluded.
INSERT INTO uptime_recount (user_id, type_id, points)
SELECT c.user_id, c.contribution_type_id, sum(c.frozen_global_points)
FROM public.contributions_contribution AS c
WHERE c.user_id IN (SELECT user_id FROM uptime_changed)
GROUP BY c.user_id, c.contribution_type_id
