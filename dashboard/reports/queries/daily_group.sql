-- Per day of [date_from, date_to]: the group's visits, valid visits, plan items and
-- fulfilled plan items, and the whole company's visits (for the company average) — read
-- from the daily summaries, not the visits.
WITH days AS (
    SELECT CAST(d AS DATE) AS day
    FROM range(CAST($date_from AS DATE), CAST($date_to AS DATE) + 1, INTERVAL 1 DAY) AS t(d)
),
company AS (
    SELECT visit_date AS day, sum(visits) AS company_visits
    FROM visit_day_summary
    WHERE visit_date BETWEEN $date_from AND $date_to
    GROUP BY visit_date
),
grp AS (
    SELECT visit_date AS day, sum(visits) AS visits, sum(valid_visits) AS valid_visits
    FROM visit_day_summary
    WHERE visit_date BETWEEN $date_from AND $date_to
      AND employee_code IN (SELECT unnest($employees::VARCHAR[]))
    GROUP BY visit_date
),
plan AS (
    SELECT plan_date AS day, sum(plan_items) AS plan_items, sum(plan_done) AS plan_done
    FROM plan_day_summary
    WHERE plan_date BETWEEN $date_from AND $date_to
      AND employee_code IN (SELECT unnest($employees::VARCHAR[]))
    GROUP BY plan_date
)
SELECT days.day,
       CAST(coalesce(grp.visits, 0) AS BIGINT) AS visits,
       CAST(coalesce(grp.valid_visits, 0) AS BIGINT) AS valid_visits,
       CAST(coalesce(plan.plan_items, 0) AS BIGINT) AS plan_items,
       CAST(coalesce(plan.plan_done, 0) AS BIGINT) AS plan_done,
       CAST(coalesce(company.company_visits, 0) AS BIGINT) AS company_visits
FROM days
LEFT JOIN grp ON grp.day = days.day
LEFT JOIN plan ON plan.day = days.day
LEFT JOIN company ON company.day = days.day
ORDER BY days.day
