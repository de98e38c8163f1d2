-- Reference: the plain version over the base tables (schema.sql's population macros),
-- what the optimised dashboard/queries/map_cells.sql must answer.
-- The map's customers in the box binned into square cells of $cell degrees: per cell and
-- colour key (the selected employee's position, or recency), how many and where on average.
SELECT floor(lon / $cell) AS gx,
       floor(lat / $cell) AS gy,
       CASE WHEN $colour_by_employee THEN emp_index ELSE recency END AS colour_key,
       count(*) AS customers,
       avg(lon) AS lon,
       avg(lat) AS lat
FROM map_population($everyone, $departments::VARCHAR[], $employees::VARCHAR[], $date_from,
                    $date_to, $bucket_lows::INTEGER[], $bucket_highs::INTEGER[],
                    $grades::VARCHAR[], $unrated, $west, $south, $east, $north)
GROUP BY ALL
