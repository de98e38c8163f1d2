-- One page of the population's customers with their visits in the range, last visit on or
-- before the range's end, and days since then (NULL = never); selected buckets only.
-- Sorted by a fixed list of keys chosen by $sort. The page is chosen first from
-- customer_facts (id, name, grade, first / last / second-to-last visit day); visit counts of the
-- whole population are only computed when buckets are selected or the sort is by visits
-- ($need_counts); owners, department names and counts are joined for the page only.
-- The population: schema.sql's population_ids.
WITH pop AS (  -- schema.sql; the whole company is read from customer_facts below
    SELECT customer_id FROM population_ids(false, $one_root, $root, $many_roots, $roots,
                                           $by_employee, $employees)
),
people AS (
    SELECT customer_id, customer_code, name, grade, first_visit, last_visit, prev_visit
    FROM customer_facts
    WHERE $everyone AND NOT deleted
    UNION ALL
    SELECT customer_id, customer_code, name, grade, first_visit, last_visit, prev_visit
    FROM customer_facts
    WHERE NOT $everyone AND customer_id IN (SELECT customer_id FROM pop)
),
earlier AS (  -- visited on or before $date_to and twice after it: look the day up
    SELECT customer_id, max(visit_date) AS last_visit
    FROM customer_day
    WHERE visit_date <= $date_to
      AND customer_id IN (SELECT customer_id FROM customer_facts
                          WHERE first_visit <= $date_to AND prev_visit > $date_to)
    GROUP BY customer_id
),
counted AS (
    SELECT customer_id, visits FROM customer_visits($date_from, $date_to, $whole_month)  -- schema.sql
    WHERE $need_counts AND $everyone
    UNION ALL
    -- a part of the company: its customers are picked before the days are summed
    SELECT customer_id, visits
    FROM customer_month
    WHERE $need_counts AND NOT $everyone AND $whole_month AND month = $date_from
      AND customer_id IN (SELECT customer_id FROM pop)
    UNION ALL
    SELECT customer_id, sum(visits)::INTEGER AS visits
    FROM customer_day
    WHERE $need_counts AND NOT $everyone AND NOT $whole_month AND visit_date BETWEEN $date_from AND $date_to
      AND customer_id IN (SELECT customer_id FROM pop)
    GROUP BY customer_id
),
chosen AS (
    SELECT customer_id FROM counted
    WHERE visits IN (SELECT unnest($bucket_counts::INTEGER[]))
       OR coalesce(visits >= $bucket_from, false)
),
listed AS (  -- buckets filter by membership tests; counts joined only to sort by them
    SELECT p.customer_id, p.customer_code, p.grade,
           CASE WHEN $sort = 'name' THEN p.name END AS sort_name,  -- read only when sorted by
           coalesce(c.visits, 0) AS visits,
           CASE WHEN p.last_visit <= $date_to THEN p.last_visit
                WHEN p.prev_visit <= $date_to THEN p.prev_visit
                WHEN p.first_visit <= $date_to THEN e.last_visit END AS last_visit
    FROM people AS p
    LEFT JOIN (SELECT customer_id, visits FROM counted WHERE $sort = 'visits') AS c
        ON c.customer_id = p.customer_id
    LEFT JOIN earlier AS e ON e.customer_id = p.customer_id
    WHERE NOT $bucketed
       OR p.customer_id IN (SELECT customer_id FROM chosen)
       OR ($zero_selected AND p.customer_id NOT IN (SELECT customer_id FROM counted))
),
page AS MATERIALIZED (
    SELECT * FROM listed AS k
    ORDER BY
        CASE WHEN $sort = 'visits' AND NOT $descending THEN k.visits END ASC,
        CASE WHEN $sort = 'visits' AND $descending THEN k.visits END DESC,
        CASE WHEN $sort = 'last_visit' AND NOT $descending THEN k.last_visit END ASC NULLS FIRST,
        CASE WHEN $sort = 'last_visit' AND $descending THEN k.last_visit END DESC NULLS LAST,
        CASE WHEN $sort = 'customer_code' AND NOT $descending THEN k.customer_code END ASC,
        CASE WHEN $sort = 'customer_code' AND $descending THEN k.customer_code END DESC,
        CASE WHEN $sort = 'name' AND NOT $descending THEN k.sort_name END ASC,
        CASE WHEN $sort = 'name' AND $descending THEN k.sort_name END DESC,
        CASE WHEN $sort = 'grade' AND NOT $descending THEN k.grade END ASC NULLS LAST,
        CASE WHEN $sort = 'grade' AND $descending THEN k.grade END DESC NULLS LAST,
        k.last_visit ASC NULLS FIRST, k.customer_code
    LIMIT $limit OFFSET $offset
),
page_visits AS (
    SELECT customer_id, sum(visits) AS visits
    FROM customer_day
    WHERE visit_date BETWEEN $date_from AND $date_to
      AND customer_id IN (SELECT customer_id FROM page)
    GROUP BY customer_id
),
owners AS (
    SELECT b.customer_id,
           string_agg(e.name || ' (' || e.code || ')', ', ' ORDER BY e.code) AS owners
    FROM employee_customers AS b
    JOIN employees AS e ON e.code = b.employee_code
    WHERE b.customer_id IN (SELECT customer_id FROM page)
    GROUP BY b.customer_id
),
shown AS (
    SELECT p.customer_code,
           c.name AS customer_name,
           p.grade,
           c.address,
           c.department_code,
           d.name AS department_name,
           o.owners,
           coalesce(v.visits, 0) AS visits,
           p.last_visit,
           date_diff('day', p.last_visit, CAST($date_to AS DATE)) AS days_since,
           p.sort_name
    FROM page AS p
    JOIN (SELECT customer_id, name, address, department_code FROM customer_facts
          WHERE customer_id IN (SELECT customer_id FROM page)) AS c
        ON c.customer_id = p.customer_id
    LEFT JOIN departments AS d ON d.code = c.department_code
    LEFT JOIN owners AS o ON o.customer_id = p.customer_id
    LEFT JOIN page_visits AS v ON v.customer_id = p.customer_id
)
SELECT customer_code, customer_name, grade, address, department_code, department_name,
       owners, visits, last_visit, days_since
FROM shown AS p
ORDER BY
    CASE WHEN $sort = 'visits' AND NOT $descending THEN p.visits END ASC,
    CASE WHEN $sort = 'visits' AND $descending THEN p.visits END DESC,
    CASE WHEN $sort = 'last_visit' AND NOT $descending THEN p.last_visit END ASC NULLS FIRST,
    CASE WHEN $sort = 'last_visit' AND $descending THEN p.last_visit END DESC NULLS LAST,
    CASE WHEN $sort = 'customer_code' AND NOT $descending THEN p.customer_code END ASC,
    CASE WHEN $sort = 'customer_code' AND $descending THEN p.customer_code END DESC,
    CASE WHEN $sort = 'name' AND NOT $descending THEN p.sort_name END ASC,
    CASE WHEN $sort = 'name' AND $descending THEN p.sort_name END DESC,
    CASE WHEN $sort = 'grade' AND NOT $descending THEN p.grade END ASC NULLS LAST,
    CASE WHEN $sort = 'grade' AND $descending THEN p.grade END DESC NULLS LAST,
    p.last_visit ASC NULLS FIRST, p.customer_code
