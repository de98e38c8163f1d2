-- Per day of [date_from, date_to]: the group's visits, valid visits, plan items and
-- fulfilled plan items, and the whole company's visits (for the company average).
WITH days AS (
    SELECT CAST(d AS DATE) AS day
    FROM range(CAST($date_from AS DATE), CAST($date_to AS DATE) + 1, INTERVAL 1 DAY) AS t(d)
),
company AS (
    SELECT visit_date AS day, count(*) AS company_visits
    FROM visits
    WHERE visit_date BETWEEN $date_from AND $date_to
    GROUP BY visit_date
),
grp AS (
    SELECT visit_date AS day,
           count(*) AS visits,
           count(*) FILTER (WHERE invalid_mask = 0) AS valid_visits
    FROM visits
    WHERE visit_date BETWEEN $date_from AND $date_to
      AND employee_code IN (SELECT unnest($employees::VARCHAR[]))
    GROUP BY visit_date
),
done AS (
    SELECT DISTINCT employee_code, customer_code, visit_date
    FROM visits
    WHERE visit_date BETWEEN $date_from AND $date_to
      AND employee_code IN (SELECT unnest($employees::VARCHAR[]))
),
plan AS (
    SELECT pi.plan_date AS day,
           count(*) AS plan_items,
           count(done.employee_code) AS plan_done
    FROM plan_items AS pi
    LEFT JOIN done ON done.employee_code = pi.employee_code
                  AND done.customer_code = pi.customer_code
                  AND done.visit_date = pi.plan_date
    WHERE pi.plan_date BETWEEN $date_from AND $date_to
      AND pi.employee_code IN (SELECT unnest($employees::VARCHAR[]))
    GROUP BY pi.plan_date
)
SELECT days.day,
       coalesce(grp.visits, 0) AS visits,
       coalesce(grp.valid_visits, 0) AS valid_visits,
       coalesce(plan.plan_items, 0) AS plan_items,
       coalesce(plan.plan_done, 0) AS plan_done,
       coalesce(company.company_visits, 0) AS company_visits
FROM days
LEFT JOIN grp ON grp.day = days.day
LEFT JOIN plan ON plan.day = days.day
LEFT JOIN company ON company.day = days.day
ORDER BY days.day
