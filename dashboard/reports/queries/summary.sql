-- Visited summary, totals included: one row per (row, grade) and, with row_code NULL, per
-- grade of the whole population (the totals row: distinct customers, never a sum of the
-- rows). Rows are departments ($department_rows: each stands for its subtree's population,
-- customers assigned to the subtree or bound directly to one of its employees, read from
-- customer_membership) or employees (their direct customers and those bound directly to an
-- employee who shares with them, each customer once per row). The population: schema.sql's
-- population_ids. Grade NULL = unrated; selected buckets only. The range's
-- visits are counted once per customer (customer_visits) for both; the never-visited
-- customers are the members minus them.
WITH pop AS (  -- schema.sql
    SELECT customer_id, grade FROM population_ids($everyone, $one_root, $root, $many_roots, $roots,
                                                  $by_employee, $employees)
),
department_members AS (
    SELECT department_code AS row_code, customer_id, grade
    FROM customer_membership
    WHERE $department_rows AND department_code IN (SELECT unnest($rows::VARCHAR[]))
),
direct AS (
    SELECT employee_code AS row_code, customer_id, grade
    FROM employee_customers
    WHERE NOT $department_rows AND employee_code IN (SELECT unnest($rows::VARCHAR[]))
),
shared AS (
    SELECT DISTINCT s.to_employee_code AS row_code, e.customer_id, e.grade
    FROM shares AS s
    JOIN employee_customers AS e ON e.employee_code = s.from_employee_code
    WHERE NOT $department_rows AND s.to_employee_code IN (SELECT unnest($rows::VARCHAR[]))
),
members AS (
    SELECT row_code, customer_id, grade FROM department_members
    UNION ALL
    SELECT row_code, customer_id, grade FROM direct
    UNION ALL
    SELECT sh.row_code, sh.customer_id, sh.grade
    FROM shared AS sh
    LEFT JOIN (SELECT employee_code, customer_id FROM employee_customers
               WHERE employee_code IN (SELECT to_employee_code FROM shares)) AS own
        ON own.employee_code = sh.row_code AND own.customer_id = sh.customer_id
    WHERE own.customer_id IS NULL
),
counted AS (  -- the whole company: every visited customer; else the population and rows'
    SELECT customer_id, grade, visits, true AS in_total
    FROM customer_visits($date_from, $date_to, $whole_month)  -- schema.sql
    WHERE $everyone
    UNION ALL
    -- a part of the company: its customers are picked before their visits are summed
    -- (the "WHERE NOT $everyone" inside the subqueries keeps the company's plan from
    -- building their hash tables: about 20 ms at a million customers)
    SELECT customer_id, any_value(grade) AS grade, sum(visits)::INTEGER AS visits,
           customer_id IN (SELECT customer_id FROM pop WHERE NOT $everyone) AS in_total
    FROM (SELECT customer_id, grade, visits FROM customer_month
          WHERE $whole_month AND month = $date_from
          UNION ALL
          SELECT customer_id, grade, visits FROM customer_day
          WHERE NOT $whole_month AND visit_date BETWEEN $date_from AND $date_to) AS d
    WHERE NOT $everyone
      AND customer_id IN (SELECT customer_id FROM pop WHERE NOT $everyone
                          UNION ALL
                          SELECT customer_id FROM members WHERE NOT $everyone)
    GROUP BY customer_id
),
flagged AS MATERIALIZED (
    SELECT customer_id, grade, visits, in_total,
           NOT $bucketed OR visits IN (SELECT unnest($bucket_counts::INTEGER[]))
           OR coalesce(visits >= $bucket_from, false) AS chosen
    FROM counted
),
visited AS (
    SELECT NULL::VARCHAR AS row_code, grade, count(*) AS visited,
           count(*) FILTER (WHERE chosen) AS customers,
           coalesce(sum(visits) FILTER (WHERE chosen), 0) AS visits
    FROM flagged
    WHERE in_total
    GROUP BY grade
    UNION ALL
    SELECT m.row_code, m.grade, count(*) AS visited,
           count(*) FILTER (WHERE f.chosen) AS customers,
           coalesce(sum(f.visits) FILTER (WHERE f.chosen), 0) AS visits
    FROM members AS m
    -- visits > 0 always holds; it makes the planner build the hash table on this side
    JOIN (SELECT * FROM flagged WHERE visits > 0) AS f ON f.customer_id = m.customer_id
    GROUP BY m.row_code, m.grade
),
population AS (
    SELECT NULL::VARCHAR AS row_code, grade, count(*) AS customers FROM pop GROUP BY grade
    UNION ALL
    SELECT row_code, grade, count(*) AS customers FROM members GROUP BY row_code, grade
),
per_row AS (
    SELECT p.row_code, p.grade,
           coalesce(v.customers, 0)
           + CASE WHEN $zero_selected THEN p.customers - coalesce(v.visited, 0) ELSE 0 END
               AS customers,
           coalesce(v.customers, 0) AS visited_customers,
           coalesce(v.visits, 0) AS visits
    FROM population AS p
    LEFT JOIN visited AS v ON v.row_code IS NOT DISTINCT FROM p.row_code
                          AND v.grade IS NOT DISTINCT FROM p.grade
)
SELECT row_code, grade, customers, visited_customers, visits
FROM per_row
WHERE customers > 0
