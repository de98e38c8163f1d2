-- Departments a scope may see, in tree order, each with its path of names inside the scope
-- (ancestors outside the scope are left out, so their names never reach the browser).
-- Parameters: $everything (BOOLEAN: the whole company), $departments (VARCHAR[]: the scope).
SELECT
    d.code,
    d.name,
    list(a.name ORDER BY t.depth DESC) AS path_names,
    list(a.code ORDER BY t.depth DESC) AS path_codes
FROM departments AS d
JOIN department_tree AS t ON t.descendant_code = d.code
JOIN departments AS a ON a.code = t.ancestor_code
WHERE ($everything OR d.code IN (SELECT unnest($departments::VARCHAR[])))
  AND ($everything OR a.code IN (SELECT unnest($departments::VARCHAR[])))
GROUP BY d.code, d.name
ORDER BY path_codes
