-- The phone API: how many customers an employee has, direct and shared (not deleted).
SELECT count(DISTINCT customer_code) AS total
FROM employee_population([$employee]::VARCHAR[])
