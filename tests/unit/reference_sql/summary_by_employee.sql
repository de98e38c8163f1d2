-- Reference: the plain version over the base tables (schema.sql's population macros),
-- what the optimised dashboard/queries/summary_by_employee.sql must answer.
-- Visited summary rows by employee: each employee's population (direct and shared).
WITH members AS (
    SELECT DISTINCT employee_code AS row_code, customer_code
    FROM employee_population($rows::VARCHAR[])
)
SELECT m.row_code,
       c.grade,
       count(*) AS customers,
       count(*) FILTER (WHERE coalesce(v.visits, 0) > 0) AS visited_customers,
       coalesce(sum(v.visits), 0) AS visits
FROM members AS m
JOIN customers AS c ON c.code = m.customer_code
LEFT JOIN customer_visit_counts($date_from, $date_to) AS v ON v.customer_code = m.customer_code
WHERE in_buckets(coalesce(v.visits, 0), $bucket_lows::INTEGER[], $bucket_highs::INTEGER[])
GROUP BY m.row_code, c.grade
