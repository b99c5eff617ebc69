-- Under the locked phase's table locks: the users in scope whose contributions changed after the
-- scan, read afresh by the statements that follow. A contribution the app inserted has an id above
-- the scan's highest (the id ranges to read leave out the run's own inserts); one it changed moved
-- the user's entries, which the app rewrites on every save.
--   $1, $2 the id ranges to read: low and high ends
--   $3 the run's clock, $4 the Uptime type's id
-- UNION ALL and the primary key's ON CONFLICT rather than UNION: the planner, which cannot know how
-- few ids lie above the scan's highest, sized UNION's hash table for some 400,000 users, 20 MB of
-- the server's memory at 10,000 users with three years of history.
INSERT INTO uptime_changed (user_id)
SELECT user_id
FROM (
    SELECT c.user_id
    FROM unnest($1::bigint[], $2::bigint[]) AS g (lo, hi)
    JOIN public.contributions_contribution AS c ON c.id BETWEEN g.lo AND g.hi
    WHERE NOT (c.created_at = $3 AND c.contribution_type_id = $4
               AND c.notes LIKE 'Auto-generated daily uptime for %')
    UNION ALL
    SELECT coalesce(e.user_id, s.user_id)
    FROM public.leaderboard_leaderboardentry AS e
    FULL JOIN uptime_entries AS s ON s.user_id = e.user_id AND s.board = coalesce(e.category_id, 0)
    WHERE e.total_points IS DISTINCT FROM s.total
) AS changed
WHERE user_id IN (SELECT user_id FROM uptime_starts)
ON CONFLICT DO NOTHING
