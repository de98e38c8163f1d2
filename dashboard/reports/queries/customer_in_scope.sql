-- Whether a customer belongs to the scope's population (admins: any customer, deleted too).
-- Others: a non-deleted customer with a customer_membership row (read by its integer id)
-- for a department of the scope; the scope's department list is closed under subtrees,
-- so that is exactly the population of DESIGN.md section 3.
SELECT count(*) AS found
FROM customer_facts AS f
WHERE f.customer_code = $code
  AND ($everyone OR (NOT f.deleted AND EXISTS (
      SELECT 1
      FROM customer_membership AS m
      WHERE m.customer_id = (SELECT customer_id FROM customer_facts
                             WHERE customer_code = $code)
        AND m.department_code IN (SELECT unnest($departments::VARCHAR[])))))
