-- Employees of the listed departments whose code or name contains the search text
-- (a bound LIKE pattern), plus the already selected ones, for the employee picker.
SELECT code, name, status
FROM employees
WHERE department_code IN (SELECT unnest($departments::VARCHAR[]))
  AND (code IN (SELECT unnest($selected::VARCHAR[]))
       OR code ILIKE $pattern ESCAPE '\'
       OR name ILIKE $pattern ESCAPE '\')
ORDER BY code IN (SELECT unnest($selected::VARCHAR[])) DESC, code
LIMIT $limit
