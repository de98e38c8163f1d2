-- How many customers of the population have each visit count over the range (by anyone).
-- Only visited customers are counted (customer_visits: non-deleted customers, by id);
-- the never-visited ones are the population's size minus them (the row with visit_count 0).
-- The population: the whole company ($everyone), one department subtree ($one_root: $root),
-- several ($many_roots: $roots), or employees ($by_employee: direct and shared customers).
WITH pop AS (  -- schema.sql
    SELECT customer_id FROM population_ids($everyone, $one_root, $root, $many_roots, $roots,
                                           $by_employee, $employees)
),
counted AS (  -- schema.sql's customer_visits: one month's rows, or the days summed
    SELECT customer_id, visits FROM customer_visits($date_from, $date_to, $whole_month)
    WHERE $everyone
    UNION ALL
    -- a part of the company: its customers are picked before the days are summed
    SELECT customer_id, visits
    FROM customer_month
    WHERE NOT $everyone AND $whole_month AND month = $date_from
      AND customer_id IN (SELECT customer_id FROM pop)
    UNION ALL
    SELECT customer_id, sum(visits)::INTEGER AS visits
    FROM customer_day
    WHERE NOT $everyone AND NOT $whole_month AND visit_date BETWEEN $date_from AND $date_to
      AND customer_id IN (SELECT customer_id FROM pop)
    GROUP BY customer_id
),
histogram AS MATERIALIZED (
    SELECT visits AS visit_count, count(*) AS customers FROM counted GROUP BY visits
)
SELECT visit_count, customers
FROM (SELECT visit_count, customers FROM histogram
      UNION ALL
      SELECT 0, (SELECT count(*) FROM pop) - (SELECT coalesce(sum(customers), 0) FROM histogram))
     AS found
WHERE customers > 0
ORDER BY visit_count
