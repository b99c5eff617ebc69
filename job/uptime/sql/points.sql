-- The leaderboard points (job/leaderboard) of every user in scope with Uptime, per contribution
-- type, so that a total the app left stale is set right every night as well. A user the app did
-- not touch since the scan has the scan's sums plus this run's new days; a changed one, the sums
-- the locked phase read afresh.
--   $1 the Uptime type's id
INSERT INTO leaderboard_points (user_id, type_id, points)
SELECT s.user_id, s.type_id, s.points + CASE WHEN s.type_id = $1 THEN coalesce(n.points, 0) ELSE 0 END
FROM uptime_sums AS s
JOIN uptime_starts AS st USING (user_id)
LEFT JOIN uptime_new_points AS n USING (user_id)
-- NOT IN, a hashed subplan: the planner, sure that few users changed, made NOT EXISTS a nested
-- loop that scanned uptime_changed once per row, 60 ms with none changed. (No NULLs on either side.)
WHERE s.user_id NOT IN (SELECT user_id FROM uptime_changed)
UNION ALL
SELECT user_id, type_id, points
FROM uptime_recount
