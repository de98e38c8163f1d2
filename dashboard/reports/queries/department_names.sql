-- Names of the listed departments.
SELECT code, name
FROM departments
WHERE code IN (SELECT unnest($codes::VARCHAR[]))
ORDER BY code
