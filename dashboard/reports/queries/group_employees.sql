-- Employees of a report group: those of the given departments, optionally only the listed
-- employees (an empty list = no employee filter).
SELECT code
FROM employees
WHERE department_code IN (SELECT unnest($departments::VARCHAR[]))
  AND (len($employees::VARCHAR[]) = 0 OR code IN (SELECT unnest($employees::VARCHAR[])))
ORDER BY code
