-- Every board (global and each category) ranked afresh: visible users by total_points, highest
-- first, ties broken by name in the database's collation (then id, so the order is total),
-- ranked 1, 2, 3 ... with no shared ranks. Invisible users' entries have no rank. Only entries
-- whose rank changes are written.
WITH ranked AS (
    SELECT e.id,
           CASE WHEN u.visible THEN
               row_number() OVER (PARTITION BY e.category_id, u.visible
                                  ORDER BY e.total_points DESC, u.name, u.id)
           END AS rank
    FROM public.leaderboard_leaderboardentry AS e
    JOIN public.users_user AS u ON u.id = e.user_id
)
UPDATE public.leaderboard_leaderboardentry AS e
SET rank = ranked.rank
FROM ranked
WHERE e.id = ranked.id
  AND e.rank IS DISTINCT FROM ranked.rank
