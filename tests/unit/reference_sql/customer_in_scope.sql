-- Reference: the plain version over the base tables, what the optimised
-- dashboard/queries/customer_in_scope.sql must answer.
-- Whether a customer belongs to the scope's population (admins: any customer, deleted too).
SELECT count(*) AS found
FROM customers AS c
WHERE c.code = $code
  AND ($everyone OR c.code IN (SELECT customer_code FROM customer_population(
           false, $departments::VARCHAR[], []::VARCHAR[])))
