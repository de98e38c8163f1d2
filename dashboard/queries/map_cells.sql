-- The map's customers in the box binned into square cells of $cell degrees: per cell and
-- colour key (the selected employee's position, or recency), how many and where on average.
-- The customers: the population (the whole company, department subtrees from
-- customer_membership, or the chosen employees' direct and shared customers, each with the
-- position of its first chosen owner), located inside the box, in the chosen grades (none
-- = all) and buckets. Recency comes from the first / last / second-to-last visit days in
-- customer_facts (customer_day only for the few they cannot decide); visit counts only
-- when buckets are chosen.
WITH owners AS (  -- the chosen employees' customers: direct, and through shares
    SELECT e.employee_code, e.customer_id
    FROM employee_customers AS e
    WHERE $by_employee AND e.employee_code IN (SELECT unnest($employees::VARCHAR[]))
    UNION ALL
    SELECT s.to_employee_code, e.customer_id
    FROM shares AS s
    JOIN employee_customers AS e ON e.employee_code = s.from_employee_code
    WHERE $by_employee AND s.to_employee_code IN (SELECT unnest($employees::VARCHAR[]))
),
pop AS (
    SELECT customer_id, NULL::INTEGER AS emp_index
    FROM customer_membership
    WHERE $one_root AND department_code = $root
    UNION ALL
    SELECT DISTINCT customer_id, NULL::INTEGER AS emp_index
    FROM customer_membership
    WHERE $many_roots AND department_code IN (SELECT unnest($roots::VARCHAR[]))
    UNION ALL
    SELECT customer_id, min(list_position($employees::VARCHAR[], employee_code)) AS emp_index
    FROM owners
    GROUP BY customer_id
),
located AS (
    SELECT customer_id, customer_code, NULL::INTEGER AS emp_index, longitude AS lon,
           latitude AS lat, grade, first_visit, last_visit, prev_visit
    FROM customer_facts
    WHERE $everyone AND NOT deleted
      AND longitude BETWEEN $west AND $east AND latitude BETWEEN $south AND $north
      AND (NOT $grade_filter OR grade IN (SELECT unnest($grades::VARCHAR[]))
           OR ($unrated AND grade IS NULL))
    UNION ALL
    SELECT f.customer_id, f.customer_code, p.emp_index, f.longitude AS lon,
           f.latitude AS lat, f.grade, f.first_visit, f.last_visit, f.prev_visit
    FROM pop AS p
    JOIN customer_facts AS f ON f.customer_id = p.customer_id
    WHERE NOT $everyone
      AND f.longitude BETWEEN $west AND $east AND f.latitude BETWEEN $south AND $north
      AND (NOT $grade_filter OR f.grade IN (SELECT unnest($grades::VARCHAR[]))
           OR ($unrated AND f.grade IS NULL))
),
between_seen AS (  -- visited before the range and twice after it: seen inside it?
    SELECT DISTINCT customer_id
    FROM customer_day
    WHERE visit_date BETWEEN $date_from AND $date_to
      AND customer_id IN (SELECT customer_id FROM customer_facts
                          WHERE first_visit < $date_from AND prev_visit > $date_to)
),
counted AS (  -- visit counts, only when buckets are selected
    SELECT customer_id, sum(visits) AS visits
    FROM customer_day
    WHERE $bucketed AND $everyone AND visit_date BETWEEN $date_from AND $date_to
    GROUP BY customer_id
    UNION ALL
    SELECT customer_id, sum(visits) AS visits
    FROM customer_day
    WHERE $bucketed AND NOT $everyone AND visit_date BETWEEN $date_from AND $date_to
      AND customer_id IN (SELECT customer_id FROM pop)
    GROUP BY customer_id
),
chosen AS (
    SELECT customer_id FROM counted
    WHERE visits IN (SELECT unnest($bucket_counts::INTEGER[]))
       OR coalesce(visits >= $bucket_from, false)
),
shown AS (  -- recency: 0 visited in the range, 1 visited before, 2 never (as of $date_to)
    SELECT customer_id, customer_code, emp_index, lon, lat, grade, first_visit, last_visit,
           prev_visit,
           CASE WHEN first_visit IS NULL OR first_visit > $date_to THEN 2
                WHEN last_visit < $date_from THEN 1
                WHEN last_visit <= $date_to THEN 0
                WHEN prev_visit BETWEEN $date_from AND $date_to THEN 0
                WHEN prev_visit < $date_from THEN 1
                WHEN first_visit >= $date_from THEN 0
                WHEN customer_id IN (SELECT customer_id FROM between_seen) THEN 0
                ELSE 1 END AS recency
    FROM located
    WHERE NOT $bucketed
       OR customer_id IN (SELECT customer_id FROM chosen)
       OR ($zero_selected AND customer_id NOT IN (SELECT customer_id FROM counted))
)
SELECT floor(lon / $cell) AS gx,
       floor(lat / $cell) AS gy,
       CASE WHEN $colour_by_employee THEN emp_index ELSE recency END AS colour_key,
       count(*) AS customers,
       avg(lon) AS lon,
       avg(lat) AS lat
FROM shown
GROUP BY ALL
