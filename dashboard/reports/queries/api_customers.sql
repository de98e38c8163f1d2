-- The phone API: one page of an employee's customers, direct and shared (DESIGN.md
-- section 2, employee population; deleted ones left out), by code, with location and the
-- last check-in there by anyone and by the employee. shared_from is NULL for a direct one.
WITH mine AS (
    SELECT customer_code,
           CASE WHEN bool_or(shared_from IS NULL) THEN NULL ELSE min(shared_from) END
               AS shared_from
    FROM employee_population([$employee]::VARCHAR[])
    GROUP BY customer_code
),
page AS (
    SELECT customer_code, shared_from
    FROM mine
    ORDER BY customer_code
    LIMIT $limit OFFSET $offset
),
seen AS (
    SELECT customer_code,
           max(check_in_at) AS last_visit_at,
           max(check_in_at) FILTER (WHERE employee_code = $employee) AS my_last_visit_at
    FROM visits
    WHERE customer_code IN (SELECT customer_code FROM page)
    GROUP BY customer_code
)
SELECT c.code, c.name, c.grade, c.address, c.longitude, c.latitude, c.contact, c.phone,
       c.note, p.shared_from, s.last_visit_at, s.my_last_visit_at
FROM page AS p
JOIN customers AS c ON c.code = p.customer_code
LEFT JOIN seen AS s ON s.customer_code = p.customer_code
ORDER BY c.code
