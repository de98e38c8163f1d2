-- Reference: the plain version over the base tables (schema.sql's population macros),
-- what the optimised dashboard/queries/map_extent.sql must answer.
-- The box around the map's customers (to fit the view when the selection changes).
SELECT min(lon) AS west, min(lat) AS south, max(lon) AS east, max(lat) AS north,
       count(*) AS customers
FROM map_population($everyone, $departments::VARCHAR[], $employees::VARCHAR[], $date_from,
                    $date_to, $bucket_lows::INTEGER[], $bucket_highs::INTEGER[],
                    $grades::VARCHAR[], $unrated, -180.0, -90.0, 180.0, 90.0)
