-- How many visits the detail view holds for the filters (for paging).
SELECT count(*) AS total
FROM visits AS v
WHERE v.visit_date BETWEEN $date_from AND $date_to
  AND v.employee_code IN (SELECT unnest($employees::VARCHAR[]))
  AND ($validity = 'all'
       OR ($validity = 'valid' AND v.invalid_mask = 0)
       OR ($validity = 'invalid' AND v.invalid_mask <> 0))
  AND ($reason_bit = 0 OR (v.invalid_mask & $reason_bit) <> 0)
