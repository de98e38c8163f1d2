-- How many customers the archive list holds for the search and filters: a scan of
-- customer_facts (the searched and filtered columns copied per customer, the quick
-- search one scan of search_text), the scope's customers from customer_membership.
WITH found AS (
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
)
SELECT count(*) AS total FROM found
