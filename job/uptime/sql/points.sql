-- The leaderboard points (job/leaderboard) of every user who got new contributions, per
-- contribution type: the sums the scan took, plus this run's new ones. The scan ran under the
-- run's lock on the contributions, so they are still the sums at commit.
--   $1 the Uptime type's id
WITH new_points AS (
    SELECT m.user_id, sum(d.frozen) AS points
    FROM uptime_missing AS m
    JOIN uptime_days AS d USING (day)
    GROUP BY m.user_id
)
INSERT INTO leaderboard_points (user_id, type_id, points)
SELECT s.user_id, s.type_id, s.points + CASE WHEN s.type_id = $1 THEN n.points ELSE 0 END
FROM uptime_sums AS s
JOIN new_points AS n USING (user_id)
