-- Reference totals of a group over [date_from, date_to], straight from the base tables
-- (visits, plan_items, employees, holidays): what the KPIs and each trend period show.
WITH days AS (
    SELECT CAST(d AS DATE) AS day
    FROM range(CAST($date_from AS DATE), CAST($date_to AS DATE) + 1, INTERVAL 1 DAY) AS t(d)
),
grp_visits AS (
    SELECT * FROM visits
    WHERE visit_date BETWEEN $date_from AND $date_to
      AND employee_code IN (SELECT unnest($employees::VARCHAR[]))
),
grp_plans AS (
    SELECT * FROM plan_items
    WHERE plan_date BETWEEN $date_from AND $date_to
      AND employee_code IN (SELECT unnest($employees::VARCHAR[]))
)
SELECT
    (SELECT count(*) FROM grp_visits) AS visits,
    (SELECT count(*) FROM grp_visits WHERE invalid_mask = 0) AS valid_visits,
    (SELECT count(*) FROM grp_plans) AS plan_items,
    (SELECT count(*) FROM grp_plans AS p WHERE EXISTS (
        SELECT 1 FROM visits AS v
        WHERE v.employee_code = p.employee_code AND v.customer_code = p.customer_code
          AND v.visit_date = p.plan_date)) AS plan_done,
    (SELECT count(*) FROM visits WHERE visit_date BETWEEN $date_from AND $date_to)
        AS company_visits,
    (SELECT count(*) FROM employees
     WHERE status = 'active' AND code IN (SELECT unnest($employees::VARCHAR[])))
        AS headcount,
    (SELECT count(*) FROM employees WHERE status = 'active') AS company_headcount,
    (SELECT count(*) FROM days LEFT JOIN holidays AS h ON h.day = days.day
     WHERE coalesce(h.kind = 'work',
                    isodow(days.day) IN (SELECT unnest($workdays::INTEGER[])))) AS workdays
