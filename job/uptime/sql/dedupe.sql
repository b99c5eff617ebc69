-- One Uptime contribution per doubled user-day. The app's row is kept over a generated one
-- ("Auto-generated daily uptime for ...", the job's or the Django command's), then the oldest.
-- A row that another table refers to (evidence, a highlight, a submission) is never deleted:
-- the generator puts one NOT EXISTS per referencing column in place of the marker, or false
-- when the role cannot read one of them.
--   $1 the Uptime type's id, $2 the run's clock
WITH candidates AS (
    SELECT c.id, c.user_id, c.created_at = $2 AND c.notes LIKE 'Auto-generated daily uptime for %' AS ours,
           row_number() OVER (PARTITION BY c.user_id, d.day
                              ORDER BY c.notes LIKE 'Auto-generated daily uptime for %', c.id) AS place
    FROM uptime_doubled AS d
    JOIN public.contributions_contribution AS c
      ON c.user_id = d.user_id AND c.contribution_type_id = $1
     AND c.contribution_date >= d.day AND c.contribution_date < d.day + 1
),
deleted AS (
    DELETE FROM public.contributions_contribution AS c
    USING candidates AS r
    WHERE c.id = r.id AND r.place > 1 AND /* unreferenced */
    RETURNING r.user_id, r.ours
),
affected AS (
    INSERT INTO uptime_changed (user_id)
    SELECT DISTINCT user_id FROM deleted
    ON CONFLICT DO NOTHING
)
SELECT count(*) AS removed, count(*) FILTER (WHERE ours) AS ours,
       (SELECT count(*) FROM candidates WHERE place > 1) - count(*) AS kept
FROM deleted
