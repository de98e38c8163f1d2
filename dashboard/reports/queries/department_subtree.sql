-- A department and all its descendants.
SELECT descendant_code AS code
FROM department_tree
WHERE ancestor_code = $department
