-- Per employee of the group over [date_from, date_to]: every active employee, and inactive
-- ones with visits. Derived ratios and the rank are computed from these counts.
WITH emp AS (
    SELECT code, name, department_code, status
    FROM employees
    WHERE code IN (SELECT unnest($employees::VARCHAR[]))
),
v AS (
    SELECT employee_code,
           count(*) AS visits,
           count(*) FILTER (WHERE invalid_mask = 0) AS valid_visits,
           count(DISTINCT customer_code) AS customers_visited,
           avg(stay_minutes) AS avg_stay_minutes
    FROM visits
    WHERE visit_date BETWEEN $date_from AND $date_to
      AND employee_code IN (SELECT code FROM emp)
    GROUP BY employee_code
),
done AS (
    SELECT DISTINCT employee_code, customer_code, visit_date
    FROM visits
    WHERE visit_date BETWEEN $date_from AND $date_to
      AND employee_code IN (SELECT code FROM emp)
),
p AS (
    SELECT pi.employee_code,
           count(*) AS planned,
           count(done.employee_code) AS planned_done
    FROM plan_items AS pi
    LEFT JOIN done ON done.employee_code = pi.employee_code
                  AND done.customer_code = pi.customer_code
                  AND done.visit_date = pi.plan_date
    WHERE pi.plan_date BETWEEN $date_from AND $date_to
      AND pi.employee_code IN (SELECT code FROM emp)
    GROUP BY pi.employee_code
)
SELECT e.code AS employee_code,
       e.name AS employee_name,
       e.department_code,
       e.status,
       coalesce(v.visits, 0) AS visits,
       coalesce(v.valid_visits, 0) AS valid_visits,
       coalesce(p.planned, 0) AS planned,
       coalesce(p.planned_done, 0) AS planned_done,
       coalesce(v.customers_visited, 0) AS customers_visited,
       v.avg_stay_minutes
FROM emp AS e
LEFT JOIN v ON v.employee_code = e.code
LEFT JOIN p ON p.employee_code = e.code
WHERE e.status = 'active' OR coalesce(v.visits, 0) > 0
ORDER BY e.code
