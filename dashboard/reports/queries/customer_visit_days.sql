-- The days a customer was visited (by anyone): the record's visit list then reads only
-- those days of the date-sorted visits table (its zone maps skip the rest) instead of
-- scanning every visit's customer code. customer_day holds non-deleted customers; for a
-- deleted one ($deleted, admins only) the days come from the visits themselves.
SELECT d.visit_date
FROM customer_day AS d
WHERE NOT $deleted
  AND d.customer_id = (SELECT customer_id FROM customer_facts WHERE customer_code = $code)
UNION ALL
SELECT DISTINCT v.visit_date
FROM visits AS v
WHERE $deleted AND v.customer_code = $code
