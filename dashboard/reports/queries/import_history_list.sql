-- The import history, newest first: who imported which kind and file, when, and how many
-- rows were inserted or skipped; at most $limit entries.
SELECT import_id, kind, filename, username, started_at, finished_at, rows, inserted, skipped
FROM import_history
ORDER BY started_at DESC, import_id DESC
LIMIT $limit
