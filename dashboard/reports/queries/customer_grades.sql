-- Per grade (NULL = unrated) of the population: customers, visited customers and the sum
-- of their visits; only customers whose visit count is in the selected buckets (none
-- selected = all). Visited customers are counted per customer (schema.sql's
-- customer_visits, grade copied in); the never-visited ones per grade are the
-- population's customers of that grade minus them.
-- The population: schema.sql's population_ids.
WITH pop AS (  -- schema.sql
    SELECT customer_id, grade FROM population_ids($everyone, $one_root, $root, $many_roots, $roots,
                                                  $by_employee, $employees)
),
counted AS (  -- visits per customer (schema.sql's customer_visits)
    SELECT customer_id, grade, visits FROM customer_visits($date_from, $date_to, $whole_month)
    WHERE $everyone
    UNION ALL
    -- a part of the company: its customers are picked before the days are summed
    SELECT customer_id, grade, visits
    FROM customer_month
    WHERE NOT $everyone AND $whole_month AND month = $date_from
      AND customer_id IN (SELECT customer_id FROM pop)
    UNION ALL
    SELECT customer_id, any_value(grade) AS grade, sum(visits)::INTEGER AS visits
    FROM customer_day
    WHERE NOT $everyone AND NOT $whole_month AND visit_date BETWEEN $date_from AND $date_to
      AND customer_id IN (SELECT customer_id FROM pop)
    GROUP BY customer_id
),
flagged AS (
    SELECT grade, visits,
           NOT $bucketed OR visits IN (SELECT unnest($bucket_counts::INTEGER[]))
           OR coalesce(visits >= $bucket_from, false) AS chosen
    FROM counted
),
visited AS MATERIALIZED (  -- per grade: visited customers, those in the buckets, visits
    SELECT grade, count(*) AS visited,
           count(*) FILTER (WHERE chosen) AS customers,
           coalesce(sum(visits) FILTER (WHERE chosen), 0) AS visits
    FROM flagged
    GROUP BY grade
),
population AS (
    SELECT grade, count(*) AS customers FROM pop GROUP BY grade
),
per_grade AS (
    SELECT p.grade,
           coalesce(v.customers, 0)
           + CASE WHEN $zero_selected THEN p.customers - coalesce(v.visited, 0) ELSE 0 END
               AS customers,
           coalesce(v.customers, 0) AS visited_customers,
           coalesce(v.visits, 0) AS visits
    FROM population AS p
    LEFT JOIN visited AS v ON v.grade IS NOT DISTINCT FROM p.grade
)
SELECT grade, customers, visited_customers, visits
FROM per_grade
WHERE customers > 0
