-- Who looks after a customer: direct owners, and employees it is shared with (from whom).
-- The direct owners of a non-deleted customer come from employee_customers by integer id
-- (a few ms); a deleted customer's ($deleted, admins only) from its bindings.
WITH direct AS (
    SELECT employee_code
    FROM employee_customers
    WHERE NOT $deleted
      AND customer_id = (SELECT customer_id FROM customer_facts WHERE customer_code = $code)
    UNION ALL
    SELECT employee_code FROM bindings WHERE $deleted AND customer_code = $code
)
SELECT e.code AS employee_code, e.name AS employee_name, e.department_code,
       'direct' AS how, NULL AS shared_from
FROM direct AS b JOIN employees AS e ON e.code = b.employee_code
UNION ALL
SELECT e.code, e.name, e.department_code, 'shared', s.from_employee_code
FROM direct AS b
JOIN shares AS s ON s.from_employee_code = b.employee_code
JOIN employees AS e ON e.code = s.to_employee_code
ORDER BY how, employee_code
