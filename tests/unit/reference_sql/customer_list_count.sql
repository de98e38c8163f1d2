-- Reference: the plain version over the base tables (schema.sql's population macros),
-- what the optimised dashboard/queries/customer_list_count.sql must answer.
-- How many customers the customer list holds for the filters (selected buckets only).
WITH pop AS (
    SELECT DISTINCT customer_code
    FROM customer_population($everyone, $departments::VARCHAR[], $employees::VARCHAR[])
)
SELECT count(*) AS total
FROM pop
LEFT JOIN customer_visit_counts($date_from, $date_to) AS v USING (customer_code)
WHERE in_buckets(coalesce(v.visits, 0), $bucket_lows::INTEGER[], $bucket_highs::INTEGER[])
