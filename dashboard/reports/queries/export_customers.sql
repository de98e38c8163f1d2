-- The customer archive export: the non-deleted customers of a scope's population with
-- their direct owners (a sorted list), in code order.
WITH pop AS (
    SELECT DISTINCT customer_code
    FROM customer_population($everyone, $departments::VARCHAR[], []::VARCHAR[])
),
owners AS (
    SELECT b.customer_code, list(b.employee_code ORDER BY b.employee_code) AS owner_codes
    FROM bindings AS b
    WHERE b.customer_code IN (SELECT customer_code FROM pop)
    GROUP BY b.customer_code
)
SELECT c.code,
       c.name,
       c.grade,
       c.address,
       c.longitude,
       c.latitude,
       c.contact,
       c.phone,
       c.department_code,
       coalesce(o.owner_codes, []::VARCHAR[]) AS owner_codes,
       c.note
FROM pop
JOIN customers AS c ON c.code = pop.customer_code
LEFT JOIN owners AS o ON o.customer_code = c.code
ORDER BY c.code
