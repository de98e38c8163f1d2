-- Reference: the plain version over the base tables (schema.sql's population macros),
-- what the optimised dashboard/queries/customer_grades.sql must answer.
-- Per grade (NULL = unrated) of the population: customers and the sum of their visits;
-- only customers whose visit count is in the selected buckets (none selected = all).
WITH pop AS (
    SELECT DISTINCT customer_code
    FROM customer_population($everyone, $departments::VARCHAR[], $employees::VARCHAR[])
)
SELECT c.grade,
       count(*) AS customers,
       count(*) FILTER (WHERE coalesce(v.visits, 0) > 0) AS visited_customers,
       coalesce(sum(v.visits), 0) AS visits
FROM pop
JOIN customers AS c ON c.code = pop.customer_code
LEFT JOIN customer_visit_counts($date_from, $date_to) AS v USING (customer_code)
WHERE in_buckets(coalesce(v.visits, 0), $bucket_lows::INTEGER[], $bucket_highs::INTEGER[])
GROUP BY c.grade
