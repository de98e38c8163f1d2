-- The box around the map's customers (to fit the view when the selection changes): the
-- customers of map_cells.sql (the macro map_customers) anywhere in the world.
SELECT min(lon) AS west, min(lat) AS south, max(lon) AS east, max(lat) AS north,
       count(*) AS customers
FROM map_customers($everyone, $by_employee, $employees, $one_root, $root, $many_roots,
                   $roots, $west, $south, $east, $north, $grade_filter, $grades, $unrated,
                   $date_from, $date_to, $bucketed, $bucket_counts, $bucket_from,
                   $zero_selected) AS shown
