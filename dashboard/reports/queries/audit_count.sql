-- How many audit entries match the search.
SELECT count(*) AS total
FROM audit_log
WHERE $search = ''
   OR username ILIKE $pattern ESCAPE '\' OR action ILIKE $pattern ESCAPE '\'
   OR entity ILIKE $pattern ESCAPE '\' OR entity_key ILIKE $pattern ESCAPE '\'
   OR action IN (SELECT unnest($codes::VARCHAR[]))
   OR entity IN (SELECT unnest($codes::VARCHAR[]))
