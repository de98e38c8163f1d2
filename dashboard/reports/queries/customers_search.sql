-- One page of the customer archive: the scope's customers (or, for admins, the deleted
-- ones) matching the quick search and filters, with owners and department names for the
-- page's rows only, and how many match in all (total: one scan for both). Sorted by a
-- fixed list of keys chosen by $sort. The page is chosen
-- from customer_facts (the searched, filtered and sorted columns copied per customer, the
-- quick search one scan of search_text; the scope's customers from customer_membership);
-- the other columns are read for its rows only.
WITH found AS MATERIALIZED (
    SELECT f.customer_id, f.customer_code AS code, f.name, f.grade, f.updated_at
    FROM customer_facts AS f
    WHERE (($everyone AND f.deleted = $deleted)
           OR (NOT $everyone AND NOT $deleted AND NOT f.deleted AND f.customer_id IN (
                   SELECT customer_id FROM customer_membership
                   WHERE department_code IN (SELECT unnest($roots::VARCHAR[])))))
      AND ($search = '' OR contains(f.search_text, lower($search)))
      AND ((len($grades::VARCHAR[]) = 0 AND NOT $unrated)
           OR list_contains($grades::VARCHAR[], f.grade) OR ($unrated AND f.grade IS NULL))
      AND ($department IS NULL OR f.department_code IN (
               SELECT descendant_code FROM department_tree WHERE ancestor_code = $department))
      AND ($owner IS NULL OR f.customer_code IN (SELECT customer_code FROM bindings
                                                 WHERE employee_code = $owner))
      AND (NOT $no_owner OR f.owners = 0)
      AND (NOT $no_location OR f.longitude IS NULL)
),
page AS MATERIALIZED (
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
owners AS (  -- deleted customers are not in employee_customers: their bindings then
    SELECT p.code AS customer_code,
           string_agg(e.name || ' (' || e.code || ')', ', ' ORDER BY e.code) AS owners
    FROM employee_customers AS b
    JOIN page AS p ON p.customer_id = b.customer_id
    JOIN employees AS e ON e.code = b.employee_code
    WHERE NOT $deleted AND b.customer_id IN (SELECT customer_id FROM page)
    GROUP BY p.code
    UNION ALL
    SELECT b.customer_code,
           string_agg(e.name || ' (' || e.code || ')', ', ' ORDER BY e.code) AS owners
    FROM bindings AS b
    JOIN employees AS e ON e.code = b.employee_code
    WHERE $deleted AND b.customer_code IN (SELECT code FROM page)
    GROUP BY b.customer_code
),
shown AS (
    SELECT c.*
    FROM customers AS c
    WHERE c.code IN (SELECT code FROM page)
)
SELECT p.code, p.name, p.grade, p.address, p.longitude, p.latitude, p.contact, p.phone,
       p.department_code, d.name AS department_name, p.note, p.deleted, p.version,
       p.updated_at, o.owners, (SELECT count(*) FROM found) AS total
FROM shown AS p
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
