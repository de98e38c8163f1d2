-- Active employees of a group and of the whole company (status carries no date: active
-- today), in one pass for the per-capita values.
SELECT count(g.code) AS headcount,
       count(*) AS company_headcount
FROM employees AS e
LEFT JOIN (SELECT DISTINCT unnest($employees::VARCHAR[]) AS code) AS g ON g.code = e.code
WHERE e.status = 'active'
