-- Distinct customers each listed employee visited over [date_from, date_to] (the ranking's
-- customers_visited for one page of it); employees without visits have no row.
SELECT employee_code, customers_visited
FROM employee_month  -- a whole month (dashboard.metrics.whole_month): counted already
WHERE $whole_month AND month = $date_from
  AND employee_code IN (SELECT unnest($employees::VARCHAR[]))
UNION ALL
SELECT employee_code, count(DISTINCT customer_code) AS customers_visited
FROM visits
WHERE NOT $whole_month AND visit_date BETWEEN $date_from AND $date_to
  AND employee_code IN (SELECT unnest($employees::VARCHAR[]))
GROUP BY employee_code
