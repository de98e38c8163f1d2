-- The person-customer table of a scope: for each listed employee the customers bound to
-- them (direct) or to someone sharing with them (shared, from whom); then, unless one
-- employee is asked for, each listed department's assigned customers (department).
-- Non-deleted customers only. The department of an employee row is the employee's own.
WITH emps AS (
    SELECT code, name, department_code
    FROM employees
    WHERE department_code IN (SELECT unnest($departments::VARCHAR[]))
      AND ($employee IS NULL OR code = $employee)
),
people AS (
    SELECT p.employee_code,
           e.name AS employee_name,
           p.customer_code,
           c.name AS customer_name,
           CASE WHEN p.shared_from IS NULL THEN 'direct' ELSE 'shared' END AS how,
           p.shared_from,
           e.department_code
    FROM employee_population((SELECT coalesce(list(code), []::VARCHAR[]) FROM emps)) AS p
    JOIN emps AS e ON e.code = p.employee_code
    JOIN customers AS c ON c.code = p.customer_code
),
assigned AS (
    SELECT NULL::VARCHAR AS employee_code,
           NULL::VARCHAR AS employee_name,
           c.code AS customer_code,
           c.name AS customer_name,
           'department' AS how,
           NULL::VARCHAR AS shared_from,
           c.department_code
    FROM customers AS c
    WHERE NOT c.deleted
      AND $employee IS NULL
      AND c.department_code IN (SELECT unnest($departments::VARCHAR[]))
)
SELECT * FROM people
UNION ALL
SELECT * FROM assigned
ORDER BY employee_code NULLS LAST, how, department_code, customer_code, shared_from NULLS FIRST
