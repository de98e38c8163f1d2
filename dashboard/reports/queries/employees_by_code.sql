-- The department of each listed employee (to check a filter against the scope).
SELECT code, department_code
FROM employees
WHERE code IN (SELECT unnest($employees::VARCHAR[]))
