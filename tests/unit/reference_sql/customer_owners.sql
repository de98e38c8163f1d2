-- Reference: the plain version over the base tables, what the optimised
-- dashboard/queries/customer_owners.sql must answer.
-- Who looks after a customer: direct owners, and employees it is shared with (from whom).
SELECT e.code AS employee_code, e.name AS employee_name, e.department_code,
       'direct' AS how, NULL AS shared_from
FROM bindings AS b JOIN employees AS e ON e.code = b.employee_code
WHERE b.customer_code = $code
UNION ALL
SELECT e.code, e.name, e.department_code, 'shared', s.from_employee_code
FROM bindings AS b
JOIN shares AS s ON s.from_employee_code = b.employee_code
JOIN employees AS e ON e.code = s.to_employee_code
WHERE b.customer_code = $code
ORDER BY how, employee_code
