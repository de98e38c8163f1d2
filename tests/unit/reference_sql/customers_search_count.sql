-- Reference: the plain version over the base tables (schema.sql's population macros),
-- what the optimised dashboard/queries/customers_search_count.sql must answer.
-- How many customers the archive list holds for the search and filters.
WITH pop AS (
    SELECT code AS customer_code FROM customers WHERE $everyone AND deleted = $deleted
    UNION ALL
    SELECT customer_code FROM department_population($departments::VARCHAR[])
    WHERE NOT $everyone AND NOT $deleted
),
found AS (
    SELECT c.*
    FROM customers AS c
    JOIN pop ON pop.customer_code = c.code
    WHERE ($search = ''
           OR c.code ILIKE $pattern ESCAPE '\' OR c.name ILIKE $pattern ESCAPE '\'
           OR c.phone ILIKE $pattern ESCAPE '\' OR c.address ILIKE $pattern ESCAPE '\')
      AND ((len($grades::VARCHAR[]) = 0 AND NOT $unrated)
           OR list_contains($grades::VARCHAR[], c.grade) OR ($unrated AND c.grade IS NULL))
      AND ($department IS NULL OR c.department_code IN (
               SELECT descendant_code FROM department_tree WHERE ancestor_code = $department))
      AND ($owner IS NULL OR c.code IN (SELECT customer_code FROM bindings
                                        WHERE employee_code = $owner))
      AND (NOT $no_owner OR c.code NOT IN (SELECT customer_code FROM bindings
                                           WHERE $no_owner))
      AND (NOT $no_location OR c.longitude IS NULL)
)
SELECT count(*) AS total FROM found
