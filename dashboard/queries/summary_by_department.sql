-- Visited summary rows by department: each listed department stands for its subtree's
-- population (customers assigned to the subtree, or bound directly to one of its
-- employees). One pass over customers and bindings, mapped to rows through the closure.
-- One row per (department, grade), grade NULL = unrated; selected buckets only.
WITH row_deps AS (
    SELECT ancestor_code AS row_code, descendant_code AS dep
    FROM department_tree
    WHERE ancestor_code IN (SELECT unnest($rows::VARCHAR[]))
),
members AS (
    SELECT r.row_code, c.code AS customer_code
    FROM customers AS c
    JOIN row_deps AS r ON r.dep = c.department_code
    WHERE NOT c.deleted
    UNION
    SELECT r.row_code, b.customer_code
    FROM bindings AS b
    JOIN employees AS e ON e.code = b.employee_code
    JOIN row_deps AS r ON r.dep = e.department_code
    JOIN customers AS c ON c.code = b.customer_code
    WHERE NOT c.deleted
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
