-- The customers assigned to one department (not its subtree), non-deleted.
SELECT c.code AS customer_code, c.name AS customer_name, c.grade, c.address
FROM customers AS c
WHERE c.department_code = $department AND NOT c.deleted
ORDER BY c.code
