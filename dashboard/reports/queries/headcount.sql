-- Active employees of a group (status carries no date: active today).
SELECT count(*) AS headcount
FROM employees
WHERE status = 'active'
  AND ($everyone OR code IN (SELECT unnest($employees::VARCHAR[])))
