-- Employees of the listed departments for by-employee tables: active ones, and inactive ones
-- that still have customers.
SELECT e.code, e.name
FROM employees AS e
WHERE e.department_code IN (SELECT unnest($departments::VARCHAR[]))
  AND (e.status = 'active'
       OR EXISTS (SELECT 1 FROM bindings AS b WHERE b.employee_code = e.code))
  AND (len($employees::VARCHAR[]) = 0 OR e.code IN (SELECT unnest($employees::VARCHAR[])))
ORDER BY e.code
