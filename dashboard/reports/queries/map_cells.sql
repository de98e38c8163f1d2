-- The map's customers in the box binned into square cells of $cell degrees: per cell and
-- colour key (the selected employee's position, or recency), how many and where on average.
-- The customers: the macro map_customers (pipelines/schema.sql), shared with map_points
-- and map_extent: the population located inside the box, in the chosen grades (none =
-- all) and buckets, with recency.
SELECT floor(lon / $cell) AS gx,
       floor(lat / $cell) AS gy,
       CASE WHEN $colour_by_employee THEN emp_index ELSE recency END AS colour_key,
       count(*) AS customers,
       avg(lon) AS lon,
       avg(lat) AS lat
FROM map_customers($everyone, $by_employee, $employees, $one_root, $root, $many_roots,
                   $roots, $west, $south, $east, $north, $grade_filter, $grades, $unrated,
                   $date_from, $date_to, $bucketed, $bucket_counts, $bucket_from,
                   $zero_selected) AS shown
GROUP BY ALL
