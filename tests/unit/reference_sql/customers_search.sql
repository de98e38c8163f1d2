-- Reference: the plain version over the base tables (schema.sql's population macros),
-- what the optimised dashboard/queries/customers_search.sql must answer.
-- One page of the customer archive: the scope's customers (or, for admins, the deleted
-- ones) matching the quick search and filters, with owners and department names for the
-- page's rows only, and how many match in all (total). Sorted by a fixed list of keys
-- chosen by $sort.
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
),
page AS (
    SELECT * FROM found
    ORDER BY
        CASE WHEN $sort = 'code' AND NOT $descending THEN code END ASC,
        CASE WHEN $sort = 'code' AND $descending THEN code END DESC,
        CASE WHEN $sort = 'name' AND NOT $descending THEN name END ASC,
        CASE WHEN $sort = 'name' AND $descending THEN name END DESC,
        CASE WHEN $sort = 'grade' AND NOT $descending THEN grade END ASC NULLS LAST,
        CASE WHEN $sort = 'grade' AND $descending THEN grade END DESC NULLS LAST,
        CASE WHEN $sort = 'updated_at' AND NOT $descending THEN updated_at END ASC,
        CASE WHEN $sort = 'updated_at' AND $descending THEN updated_at END DESC,
        code
    LIMIT $limit OFFSET $offset
),
owners AS (
    SELECT b.customer_code,
           string_agg(e.name || ' (' || e.code || ')', ', ' ORDER BY e.code) AS owners
    FROM bindings AS b
    JOIN employees AS e ON e.code = b.employee_code
    WHERE b.customer_code IN (SELECT code FROM page)
    GROUP BY b.customer_code
)
SELECT p.code, p.name, p.grade, p.address, p.longitude, p.latitude, p.contact, p.phone,
       p.department_code, d.name AS department_name, p.note, p.deleted, p.version,
       p.updated_at, o.owners, (SELECT count(*) FROM found) AS total
FROM page AS p
LEFT JOIN departments AS d ON d.code = p.department_code
LEFT JOIN owners AS o ON o.customer_code = p.code
ORDER BY
    CASE WHEN $sort = 'code' AND NOT $descending THEN p.code END ASC,
    CASE WHEN $sort = 'code' AND $descending THEN p.code END DESC,
    CASE WHEN $sort = 'name' AND NOT $descending THEN p.name END ASC,
    CASE WHEN $sort = 'name' AND $descending THEN p.name END DESC,
    CASE WHEN $sort = 'grade' AND NOT $descending THEN p.grade END ASC NULLS LAST,
    CASE WHEN $sort = 'grade' AND $descending THEN p.grade END DESC NULLS LAST,
    CASE WHEN $sort = 'updated_at' AND NOT $descending THEN p.updated_at END ASC,
    CASE WHEN $sort = 'updated_at' AND $descending THEN p.updated_at END DESC,
    p.code
