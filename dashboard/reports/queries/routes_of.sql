-- An employee's routes with their customers in order.
SELECT r.route_id, r.route_name, i.position, i.customer_code, c.name AS customer_name
FROM routes AS r
LEFT JOIN route_items AS i ON i.route_id = r.route_id
LEFT JOIN customers AS c ON c.code = i.customer_code
WHERE r.employee_code = $employee
ORDER BY r.route_name, i.position
