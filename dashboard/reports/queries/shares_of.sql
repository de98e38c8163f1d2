-- Shares given by an employee (to whom) and received (from whom), with names.
SELECT s.from_employee_code, f.name AS from_name, s.to_employee_code, t.name AS to_name,
       s.created_at
FROM shares AS s
JOIN employees AS f ON f.code = s.from_employee_code
JOIN employees AS t ON t.code = s.to_employee_code
WHERE s.from_employee_code = $employee OR s.to_employee_code = $employee
ORDER BY s.from_employee_code, s.to_employee_code
