-- An employee's plans in a date range with their items in order, each item's customer name
-- and whether a visit by that employee to that customer on that day fulfilled it.
WITH done AS (
    SELECT DISTINCT customer_code, visit_date
    FROM visits
    WHERE employee_code = $employee AND visit_date BETWEEN $date_from AND $date_to
)
SELECT p.plan_id, p.plan_date, p.plan_name, p.route_name, i.position, i.customer_code,
       c.name AS customer_name, c.deleted AS customer_deleted,
       d.customer_code IS NOT NULL AS fulfilled
FROM plans AS p
JOIN plan_items AS i ON i.plan_id = p.plan_id
LEFT JOIN customers AS c ON c.code = i.customer_code
LEFT JOIN done AS d ON d.customer_code = i.customer_code AND d.visit_date = p.plan_date
WHERE p.employee_code = $employee AND p.plan_date BETWEEN $date_from AND $date_to
ORDER BY p.plan_date, p.plan_name, i.position
