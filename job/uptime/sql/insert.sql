-- One chunk of the new Uptime contributions: the planned user-days stored on pages $4 up to (not
-- including) $5 of uptime_missing. Rows there are only ever appended, so page ranges split the
-- plan exactly, and a TID range scan reads a chunk's pages and nothing else, in the order they
-- were planned (user by user; sorting millions of full rows cost more than the order is worth).
--   $1 the run's clock, $2 the Uptime type's id, $3 points per day
--   $4, $5 the chunk's first page and the page after its last, as tids: '(page,0)'
-- Returns the rows written and their lowest and highest ids: the ranges the locked phase need not
-- read again (catch_up.sql).
WITH inserted AS (
INSERT INTO public.contributions_contribution (
    created_at, updated_at, user_id, contribution_type_id, points, frozen_global_points,
    multiplier_at_creation, contribution_date, notes)
SELECT $1, $1, m.user_id, $2, $3, d.frozen, d.multiplier, d.contribution_date, d.notes
FROM uptime_missing AS m
JOIN uptime_days AS d USING (day)
WHERE m.ctid >= $4::tid AND m.ctid < $5::tid
RETURNING id
)
SELECT count(*), coalesce(min(id), 0), coalesce(max(id), 0) FROM inserted
