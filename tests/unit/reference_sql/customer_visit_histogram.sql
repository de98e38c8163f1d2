-- Reference: the plain version over the base tables (schema.sql's population macros),
-- what the optimised dashboard/queries/customer_visit_histogram.sql must answer.
-- How many customers of the population have each visit count over the range (by anyone).
WITH pop AS (
    SELECT DISTINCT customer_code
    FROM customer_population($everyone, $departments::VARCHAR[], $employees::VARCHAR[])
)
SELECT coalesce(v.visits, 0) AS visit_count, count(*) AS customers
FROM pop
LEFT JOIN customer_visit_counts($date_from, $date_to) AS v USING (customer_code)
GROUP BY ALL
ORDER BY visit_count
