-- Reference: the plain version over the base tables (schema.sql's population macros),
-- what the optimised dashboard/queries/map_points.sql must answer.
-- The map's customers in the box one by one (when few enough), with their popup fields.
SELECT m.customer_code,
       c.name,
       c.grade,
       c.address,
       m.lon,
       m.lat,
       m.emp_index,
       m.recency,
       m.visits,
       m.last_visit,
       (SELECT string_agg(e.name, ', ' ORDER BY e.code)
        FROM bindings AS b JOIN employees AS e ON e.code = b.employee_code
        WHERE b.customer_code = m.customer_code) AS owners
FROM map_population($everyone, $departments::VARCHAR[], $employees::VARCHAR[], $date_from,
                    $date_to, $bucket_lows::INTEGER[], $bucket_highs::INTEGER[],
                    $grades::VARCHAR[], $unrated, $west, $south, $east, $north) AS m
JOIN customers AS c ON c.code = m.customer_code
ORDER BY m.customer_code
LIMIT $limit
