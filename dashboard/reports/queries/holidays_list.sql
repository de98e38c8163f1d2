-- The holiday calendar, newest first.
SELECT day, kind, name
FROM holidays
ORDER BY day DESC
