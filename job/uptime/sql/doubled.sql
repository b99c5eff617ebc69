-- The user-days the scan found doubled: only blocks with more Uptime rows than days are opened up,
-- so a clean history costs nothing here. (The bit count is spelt out: bit_count is PostgreSQL 14+.)
--   $1 the Uptime type's id
INSERT INTO uptime_doubled (user_id, day)
SELECT c.user_id, c.contribution_date::date
FROM uptime_blocks AS b
JOIN public.contributions_contribution AS c
  ON c.user_id = b.user_id AND c.contribution_type_id = $1 AND c.contribution_date IS NOT NULL
WHERE b.rows > length(replace(b.days::text, '0', ''))
  AND (c.contribution_date::date - DATE '0001-01-01') / 512 = b.block
GROUP BY c.user_id, c.contribution_date::date
HAVING count(*) > 1
