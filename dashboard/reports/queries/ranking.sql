-- Per employee of the group over [date_from, date_to]: every active employee, and inactive
-- ones with visits. Counts come from the daily summaries; only the distinct customers
-- visited need the visits themselves. Ratios and the rank are computed from these counts.
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
c AS (
    SELECT employee_code, customers_visited
    FROM employee_month  -- a whole month (dashboard.metrics.whole_month): counted already
    WHERE $whole_month AND month = $date_from
      AND employee_code IN (SELECT code FROM emp)
    UNION ALL
    SELECT employee_code, count(DISTINCT customer_code) AS customers_visited
    FROM visits
    WHERE NOT $whole_month AND visit_date BETWEEN $date_from AND $date_to
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
       CAST(coalesce(c.customers_visited, 0) AS BIGINT) AS customers_visited,
       v.avg_stay_minutes
FROM emp AS e
LEFT JOIN v ON v.employee_code = e.code
LEFT JOIN c ON c.employee_code = e.code
LEFT JOIN p ON p.employee_code = e.code
WHERE e.status = 'active' OR coalesce(v.visits, 0) > 0
ORDER BY e.code
