-- The latest visits to a customer (by anyone), newest first.
SELECT v.visit_id, v.check_in_at, v.check_out_at, v.stay_minutes, v.employee_code,
       e.name AS employee_name, v.check_in_deviation_m, v.invalid_mask
FROM visits AS v
LEFT JOIN employees AS e ON e.code = v.employee_code
WHERE v.customer_code = $code
ORDER BY v.check_in_at DESC
LIMIT $limit
