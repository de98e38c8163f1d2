-- How many customers the customer list holds for the filters (selected buckets only): the
-- population's size, or with buckets its visited customers in them plus, when the 0 bucket
-- is selected, the never-visited ones (population minus visited).
-- The population: schema.sql's population_ids.
WITH pop AS (  -- schema.sql
    SELECT customer_id FROM population_ids($everyone, $one_root, $root, $many_roots, $roots,
                                           $by_employee, $employees)
),
counted AS (
    SELECT customer_id, visits FROM customer_visits($date_from, $date_to, $whole_month)  -- schema.sql
    WHERE $bucketed AND $everyone
    UNION ALL
    -- a part of the company: its customers are picked before the days are summed
    SELECT customer_id, visits
    FROM customer_month
    WHERE $bucketed AND NOT $everyone AND $whole_month AND month = $date_from
      AND customer_id IN (SELECT customer_id FROM pop)
    UNION ALL
    SELECT customer_id, sum(visits)::INTEGER AS visits
    FROM customer_day
    WHERE $bucketed AND NOT $everyone AND NOT $whole_month AND visit_date BETWEEN $date_from AND $date_to
      AND customer_id IN (SELECT customer_id FROM pop)
    GROUP BY customer_id
),
visited AS (
    SELECT count(*) AS visited,
           count(*) FILTER (WHERE visits IN (SELECT unnest($bucket_counts::INTEGER[]))
                                  OR coalesce(visits >= $bucket_from, false)) AS chosen
    FROM counted
)
SELECT CASE WHEN NOT $bucketed THEN (SELECT count(*) FROM pop)
            WHEN $zero_selected THEN v.chosen + (SELECT count(*) FROM pop) - v.visited
            ELSE v.chosen END AS total
FROM visited AS v
