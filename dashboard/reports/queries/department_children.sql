-- Direct children of a department, with names.
SELECT code, name
FROM departments
WHERE parent_code = $department
ORDER BY code
