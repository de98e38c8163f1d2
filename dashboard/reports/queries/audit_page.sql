-- One page of the audit log, newest first, matching a search in user, action, entity or key.
SELECT audit_id, logged_at, username, action, entity, entity_key, before_json, after_json
FROM audit_log
WHERE $search = ''
   OR username ILIKE $pattern ESCAPE '\' OR action ILIKE $pattern ESCAPE '\'
   OR entity ILIKE $pattern ESCAPE '\' OR entity_key ILIKE $pattern ESCAPE '\'
   OR action IN (SELECT unnest($codes::VARCHAR[]))
   OR entity IN (SELECT unnest($codes::VARCHAR[]))
ORDER BY audit_id DESC
LIMIT $limit OFFSET $offset
