-- Names and WGS-84 locations of the listed customers (for ordering a trip).
SELECT code, name, longitude, latitude
FROM customers
WHERE code IN (SELECT unnest($codes::VARCHAR[]))
