-- One customer with its department's name (deleted ones included: the caller checks scope).
SELECT c.code, c.name, c.grade, c.address, c.longitude, c.latitude, c.contact, c.phone,
       c.department_code, d.name AS department_name, c.note, c.deleted, c.deleted_at,
       c.version, c.created_at, c.updated_at, c.updated_by
FROM customers AS c
LEFT JOIN departments AS d ON d.code = c.department_code
WHERE c.code = $code
