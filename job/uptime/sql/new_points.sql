-- Each user's points from this run's new days, summed once the days are inserted and before the
-- locked phase: at a backfill's millions of rows the sum takes longer than the phase's budget.
INSERT INTO uptime_new_points (user_id, points)
SELECT m.user_id, sum(d.frozen)
FROM uptime_missing AS m
JOIN uptime_days AS d USING (day)
GROUP BY m.user_id
