-- The map's customers in the box one by one (when few enough), with their popup fields:
-- the customers of map_cells.sql (the macro map_customers), the first $limit by code;
-- visits in the range, owners and names joined for them only.
WITH page AS MATERIALIZED (  -- the macro map_customers (pipelines/schema.sql)
    SELECT *
    FROM map_customers($everyone, $by_employee, $employees, $one_root, $root, $many_roots,
                       $roots, $west, $south, $east, $north, $grade_filter, $grades,
                       $unrated, $date_from, $date_to, $bucketed, $bucket_counts,
                       $bucket_from, $zero_selected) AS shown
    ORDER BY customer_code LIMIT $limit
),
page_earlier AS (  -- the last visit day on or before $date_to, when the stored days miss it
    SELECT customer_id, max(visit_date) AS last_visit
    FROM customer_day
    WHERE visit_date <= $date_to
      AND customer_id IN (SELECT customer_id FROM page
                          WHERE first_visit <= $date_to AND prev_visit > $date_to)
    GROUP BY customer_id
),
page_visits AS (
    SELECT customer_id, sum(visits) AS visits
    FROM customer_day
    WHERE visit_date BETWEEN $date_from AND $date_to
      AND customer_id IN (SELECT customer_id FROM page)
    GROUP BY customer_id
),
page_owners AS (
    SELECT o.customer_id, string_agg(e.name, ', ' ORDER BY e.code) AS owners
    FROM employee_customers AS o
    JOIN employees AS e ON e.code = o.employee_code
    WHERE o.customer_id IN (SELECT customer_id FROM page)
    GROUP BY o.customer_id
)
SELECT p.customer_code,
       f.name,
       p.grade,
       f.address,
       p.lon,
       p.lat,
       p.emp_index,
       p.recency,
       coalesce(v.visits, 0) AS visits,
       CASE WHEN p.last_visit <= $date_to THEN p.last_visit
            WHEN p.prev_visit <= $date_to THEN p.prev_visit
            WHEN p.first_visit <= $date_to THEN x.last_visit END AS last_visit,
       o.owners
FROM page AS p
JOIN (SELECT customer_id, name, address FROM customer_facts
      WHERE customer_id IN (SELECT customer_id FROM page)) AS f
    ON f.customer_id = p.customer_id
LEFT JOIN page_visits AS v ON v.customer_id = p.customer_id
LEFT JOIN page_owners AS o ON o.customer_id = p.customer_id
LEFT JOIN page_earlier AS x ON x.customer_id = p.customer_id
ORDER BY p.customer_code
