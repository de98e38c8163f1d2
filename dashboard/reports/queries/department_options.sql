-- Departments of a scope, for forms (every one for admins).
SELECT code, name
FROM departments
WHERE $everyone OR code IN (SELECT unnest($departments::VARCHAR[]))
ORDER BY code
