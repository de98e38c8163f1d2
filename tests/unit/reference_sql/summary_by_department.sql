-- Visited summary rows by department: each listed department stands for its subtree's
-- population. One row per (department, grade), grade NULL = unrated.
WITH rows AS (
    SELECT unnest($rows::VARCHAR[]) AS row_code
),
members AS (
    SELECT DISTINCT r.row_code, p.customer_code
    FROM rows AS r,
         LATERAL (SELECT customer_code FROM department_population(
             (SELECT list(descendant_code) FROM department_tree
              WHERE ancestor_code = r.row_code))) AS p
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
