-- Holiday-calendar entries in a date range: kind off (extra day off) or work (extra workday).
SELECT day, kind
FROM holidays
WHERE day BETWEEN $date_from AND $date_to
