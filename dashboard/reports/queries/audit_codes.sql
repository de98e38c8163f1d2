-- The distinct action and record codes of the log (a few dozen), for searching their words.
SELECT DISTINCT action AS code FROM audit_log
UNION
SELECT DISTINCT entity FROM audit_log WHERE entity IS NOT NULL
