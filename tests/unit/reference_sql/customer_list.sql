-- Reference: the plain version over the base tables (schema.sql's population macros),
-- what the optimised dashboard/queries/customer_list.sql must answer.
-- One page of the population's customers with their visits in the range, last visit on or
-- before the range's end, and days since then (NULL = never); selected buckets only.
-- Sorted by a fixed list of keys chosen by $sort; names are joined for the page only.
WITH pop AS (
    SELECT DISTINCT customer_code
    FROM customer_population($everyone, $departments::VARCHAR[], $employees::VARCHAR[])
),
counted AS (
    SELECT pop.customer_code,
           coalesce(v.visits, 0) AS visits,
           l.last_visit
    FROM pop
    LEFT JOIN customer_visit_counts($date_from, $date_to) AS v USING (customer_code)
    LEFT JOIN (SELECT customer_code, max(visit_date) AS last_visit
               FROM visits
               WHERE visit_date <= $date_to
                 AND customer_code IN (SELECT customer_code FROM pop)
               GROUP BY customer_code) AS l USING (customer_code)
    WHERE in_buckets(coalesce(v.visits, 0), $bucket_lows::INTEGER[], $bucket_highs::INTEGER[])
),
page AS (
    SELECT k.*, c.name, c.grade, c.department_code, c.address,
           date_diff('day', k.last_visit, CAST($date_to AS DATE)) AS days_since
    FROM counted AS k
    JOIN customers AS c ON c.code = k.customer_code
    ORDER BY
        CASE WHEN $sort = 'visits' AND NOT $descending THEN k.visits END ASC,
        CASE WHEN $sort = 'visits' AND $descending THEN k.visits END DESC,
        CASE WHEN $sort = 'last_visit' AND NOT $descending THEN k.last_visit END ASC NULLS FIRST,
        CASE WHEN $sort = 'last_visit' AND $descending THEN k.last_visit END DESC NULLS LAST,
        CASE WHEN $sort = 'customer_code' AND NOT $descending THEN k.customer_code END ASC,
        CASE WHEN $sort = 'customer_code' AND $descending THEN k.customer_code END DESC,
        CASE WHEN $sort = 'name' AND NOT $descending THEN c.name END ASC,
        CASE WHEN $sort = 'name' AND $descending THEN c.name END DESC,
        CASE WHEN $sort = 'grade' AND NOT $descending THEN c.grade END ASC NULLS LAST,
        CASE WHEN $sort = 'grade' AND $descending THEN c.grade END DESC NULLS LAST,
        k.last_visit ASC NULLS FIRST, k.customer_code
    LIMIT $limit OFFSET $offset
),
owners AS (
    SELECT b.customer_code,
           string_agg(e.name || ' (' || e.code || ')', ', ' ORDER BY e.code) AS owners
    FROM bindings AS b
    JOIN employees AS e ON e.code = b.employee_code
    WHERE b.customer_code IN (SELECT customer_code FROM page)
    GROUP BY b.customer_code
)
SELECT p.customer_code,
       p.name AS customer_name,
       p.grade,
       p.address,
       p.department_code,
       d.name AS department_name,
       o.owners,
       p.visits,
       p.last_visit,
       p.days_since
FROM page AS p
LEFT JOIN departments AS d ON d.code = p.department_code
LEFT JOIN owners AS o ON o.customer_code = p.customer_code
ORDER BY
    CASE WHEN $sort = 'visits' AND NOT $descending THEN p.visits END ASC,
    CASE WHEN $sort = 'visits' AND $descending THEN p.visits END DESC,
    CASE WHEN $sort = 'last_visit' AND NOT $descending THEN p.last_visit END ASC NULLS FIRST,
    CASE WHEN $sort = 'last_visit' AND $descending THEN p.last_visit END DESC NULLS LAST,
    CASE WHEN $sort = 'customer_code' AND NOT $descending THEN p.customer_code END ASC,
    CASE WHEN $sort = 'customer_code' AND $descending THEN p.customer_code END DESC,
    CASE WHEN $sort = 'name' AND NOT $descending THEN p.name END ASC,
    CASE WHEN $sort = 'name' AND $descending THEN p.name END DESC,
    CASE WHEN $sort = 'grade' AND NOT $descending THEN p.grade END ASC NULLS LAST,
    CASE WHEN $sort = 'grade' AND $descending THEN p.grade END DESC NULLS LAST,
    p.last_visit ASC NULLS FIRST, p.customer_code
