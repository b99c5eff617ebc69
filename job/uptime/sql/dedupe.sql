-- One Uptime contribution per doubled user-day, as far as the job may decide it: a generated row
-- ("Auto-generated daily uptime for ...", the job's or the Django command's) is removed from a
-- day that has another row, the app's own row kept first, then the oldest. A row a person
-- entered is never removed: two such rows on one day are counted as left, and logged. Nor is a
-- row that another table refers to (evidence, a highlight, a submission): the generator puts one
-- NOT EXISTS per referencing column in place of the marker, or false when the role cannot read
-- one of those tables.
--   $1 the Uptime type's id, $2 the run's clock
WITH candidates AS (
    SELECT c.id, c.user_id,
           c.notes LIKE 'Auto-generated daily uptime for %' AS generated,
           c.created_at = $2 AND c.notes LIKE 'Auto-generated daily uptime for %' AS ours,
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
    WHERE c.id = r.id AND r.place > 1 AND r.generated AND /* unreferenced */
    RETURNING r.user_id, r.ours
),
affected AS (
    INSERT INTO uptime_changed (user_id)
    SELECT DISTINCT user_id FROM deleted
    ON CONFLICT DO NOTHING
)
SELECT count(*) AS removed, count(*) FILTER (WHERE ours) AS ours,
       (SELECT count(*) FROM candidates WHERE place > 1) - count(*) AS left
FROM deleted
