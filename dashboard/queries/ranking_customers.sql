-- Distinct customers each listed employee visited over [date_from, date_to] (the ranking's
-- customers_visited for one page of it); employees without visits have no row.
SELECT employee_code, count(DISTINCT customer_code) AS customers_visited
FROM visits
WHERE visit_date BETWEEN $date_from AND $date_to
  AND employee_code IN (SELECT unnest($employees::VARCHAR[]))
GROUP BY employee_code
