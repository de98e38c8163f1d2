-- Customers of a scope whose code or name contains the search text, for pickers.
SELECT c.code, c.name
FROM customers AS c
WHERE NOT c.deleted
  AND ($everyone OR c.code IN (SELECT customer_code FROM customer_population(
           false, $departments::VARCHAR[], []::VARCHAR[])))
  AND (c.code IN (SELECT unnest($selected::VARCHAR[]))
       OR c.code ILIKE $pattern ESCAPE '\' OR c.name ILIKE $pattern ESCAPE '\')
ORDER BY c.code IN (SELECT unnest($selected::VARCHAR[])) DESC, c.code
LIMIT $limit
