-- ranking.sql without the distinct customers (the one count that needs the visits
-- themselves): every active employee of the group, and inactive ones with visits, over
-- [date_from, date_to], from the daily summaries only. metrics.ranking_page ranks these
-- rows and counts customers (ranking_customers.sql) for the rows of one page only.
WITH emp AS (
    SELECT code, name, department_code, status
    FROM employees
    WHERE code IN (SELECT unnest($employees::VARCHAR[]))
),
v AS (
    SELECT employee_code,
           sum(visits) AS visits,
           sum(valid_visits) AS valid_visits,
           sum(stay_sum) / nullif(sum(stay_count), 0) AS avg_stay_minutes
    FROM visit_day_summary
    WHERE visit_date BETWEEN $date_from AND $date_to
      AND employee_code IN (SELECT code FROM emp)
    GROUP BY employee_code
),
p AS (
    SELECT employee_code, sum(plan_items) AS planned, sum(plan_done) AS planned_done
    FROM plan_day_summary
    WHERE plan_date BETWEEN $date_from AND $date_to
      AND employee_code IN (SELECT code FROM emp)
    GROUP BY employee_code
)
SELECT e.code AS employee_code,
       e.name AS employee_name,
       e.department_code,
       e.status,
       CAST(coalesce(v.visits, 0) AS BIGINT) AS visits,
       CAST(coalesce(v.valid_visits, 0) AS BIGINT) AS valid_visits,
       CAST(coalesce(p.planned, 0) AS BIGINT) AS planned,
       CAST(coalesce(p.planned_done, 0) AS BIGINT) AS planned_done,
       v.avg_stay_minutes
FROM emp AS e
LEFT JOIN v ON v.employee_code = e.code
LEFT JOIN p ON p.employee_code = e.code
WHERE e.status = 'active' OR coalesce(v.visits, 0) > 0
ORDER BY e.code
