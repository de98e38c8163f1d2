-- One page of the visit detail: the page's rows are chosen on the visits table alone, then
-- names are joined for those rows only. Sorting by a fixed list of keys chosen by $sort.
WITH page AS (
    SELECT v.*
    FROM visits AS v
    WHERE v.visit_date BETWEEN $date_from AND $date_to
      AND v.employee_code IN (SELECT unnest($employees::VARCHAR[]))
      AND ($validity = 'all'
           OR ($validity = 'valid' AND v.invalid_mask = 0)
           OR ($validity = 'invalid' AND v.invalid_mask <> 0))
      AND ($reason_bit = 0 OR (v.invalid_mask & $reason_bit) <> 0)
    ORDER BY
        CASE WHEN $sort = 'check_in_at' AND NOT $descending THEN v.check_in_at END ASC,
        CASE WHEN $sort = 'check_in_at' AND $descending THEN v.check_in_at END DESC,
        CASE WHEN $sort = 'check_out_at' AND NOT $descending THEN v.check_out_at END ASC NULLS LAST,
        CASE WHEN $sort = 'check_out_at' AND $descending THEN v.check_out_at END DESC NULLS LAST,
        CASE WHEN $sort = 'employee_code' AND NOT $descending THEN v.employee_code END ASC,
        CASE WHEN $sort = 'employee_code' AND $descending THEN v.employee_code END DESC,
        CASE WHEN $sort = 'customer_code' AND NOT $descending THEN v.customer_code END ASC,
        CASE WHEN $sort = 'customer_code' AND $descending THEN v.customer_code END DESC,
        CASE WHEN $sort = 'stay_minutes' AND NOT $descending THEN v.stay_minutes END ASC NULLS LAST,
        CASE WHEN $sort = 'stay_minutes' AND $descending THEN v.stay_minutes END DESC NULLS LAST,
        CASE WHEN $sort = 'check_in_deviation_m' AND NOT $descending THEN v.check_in_deviation_m END ASC NULLS LAST,
        CASE WHEN $sort = 'check_in_deviation_m' AND $descending THEN v.check_in_deviation_m END DESC NULLS LAST,
        CASE WHEN $sort = 'check_out_deviation_m' AND NOT $descending THEN v.check_out_deviation_m END ASC NULLS LAST,
        CASE WHEN $sort = 'check_out_deviation_m' AND $descending THEN v.check_out_deviation_m END DESC NULLS LAST,
        CASE WHEN $sort = 'valid' AND NOT $descending THEN v.invalid_mask END DESC,
        CASE WHEN $sort = 'valid' AND $descending THEN v.invalid_mask END ASC,
        v.check_in_at, v.employee_code, v.customer_code, v.visit_id
    LIMIT $limit OFFSET $offset
)
SELECT p.visit_id,
       p.employee_code,
       e.name AS employee_name,
       p.customer_code,
       c.name AS customer_name,
       coalesce(c.deleted, false) AS customer_deleted,
       c.address AS customer_address,
       p.check_in_at,
       p.check_out_at,
       p.stay_minutes,
       p.check_in_source,
       p.check_in_deviation_m,
       p.check_out_source,
       p.check_out_deviation_m,
       p.invalid_mask = 0 AS valid,
       p.invalid_mask
FROM page AS p
LEFT JOIN employees AS e ON e.code = p.employee_code
LEFT JOIN customers AS c ON c.code = p.customer_code
ORDER BY
    CASE WHEN $sort = 'check_in_at' AND NOT $descending THEN p.check_in_at END ASC,
    CASE WHEN $sort = 'check_in_at' AND $descending THEN p.check_in_at END DESC,
    CASE WHEN $sort = 'check_out_at' AND NOT $descending THEN p.check_out_at END ASC NULLS LAST,
    CASE WHEN $sort = 'check_out_at' AND $descending THEN p.check_out_at END DESC NULLS LAST,
    CASE WHEN $sort = 'employee_code' AND NOT $descending THEN p.employee_code END ASC,
    CASE WHEN $sort = 'employee_code' AND $descending THEN p.employee_code END DESC,
    CASE WHEN $sort = 'customer_code' AND NOT $descending THEN p.customer_code END ASC,
    CASE WHEN $sort = 'customer_code' AND $descending THEN p.customer_code END DESC,
    CASE WHEN $sort = 'stay_minutes' AND NOT $descending THEN p.stay_minutes END ASC NULLS LAST,
    CASE WHEN $sort = 'stay_minutes' AND $descending THEN p.stay_minutes END DESC NULLS LAST,
    CASE WHEN $sort = 'check_in_deviation_m' AND NOT $descending THEN p.check_in_deviation_m END ASC NULLS LAST,
    CASE WHEN $sort = 'check_in_deviation_m' AND $descending THEN p.check_in_deviation_m END DESC NULLS LAST,
    CASE WHEN $sort = 'check_out_deviation_m' AND NOT $descending THEN p.check_out_deviation_m END ASC NULLS LAST,
    CASE WHEN $sort = 'check_out_deviation_m' AND $descending THEN p.check_out_deviation_m END DESC NULLS LAST,
    CASE WHEN $sort = 'valid' AND NOT $descending THEN p.invalid_mask END DESC,
    CASE WHEN $sort = 'valid' AND $descending THEN p.invalid_mask END ASC,
    p.check_in_at, p.employee_code, p.customer_code, p.visit_id
