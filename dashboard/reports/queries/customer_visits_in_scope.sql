-- The latest visits to a customer made by employees of the scope ($everyone: by anyone),
-- newest first. Visits by people outside the scope are counted in the customer reports but
-- never listed (DESIGN.md section 3), so they are left out here.
SELECT v.visit_id, v.check_in_at, v.check_out_at, v.stay_minutes, v.employee_code,
       e.name AS employee_name, v.check_in_deviation_m, v.invalid_mask
FROM visits AS v
LEFT JOIN employees AS e ON e.code = v.employee_code
WHERE v.customer_code = $code
  AND v.visit_date IN (SELECT unnest($days::DATE[]))  -- customer_visit_days.sql
  AND ($everyone OR e.department_code IN (SELECT unnest($departments::VARCHAR[])))
ORDER BY v.check_in_at DESC
LIMIT $limit
