-- crash_update_location: recompute a CR3 crash's location and write it only if it differs
-- from the row as it is now (locked by lock.sql in the same transaction).  $1 = crash_id.
--   sitting exactly on the centroid of its current service-road (SVRD) location:
--       that location (kept): this is where the service-road move below put it, so the
--       event the move re-fires changes nothing -- a fixed point by construction, whatever
--       the polygon's group or shape (group 2, 0, NULL, or an L whose centroid is outside it);
--   on a main lane with a service-road location to the right of travel:
--       that location, and the coordinates move to its centroid (one UPDATE: atomic);
--   on a main lane otherwise: NULL;
--   elsewhere: the first group-1 location containing the crash, or NULL.
-- Answer (no row when the crash does not exist):
--   old_location, new_location, wrote, branch, old_lat, old_lon, new_lat, new_lon
-- Only the service-road branch names the coordinate columns in its UPDATE, so
-- the coordinate triggers re-fire only when the crash really moves.
WITH now_row AS (
    SELECT crash_id, location_id, latitude_primary, longitude_primary
      FROM atd_txdot_crashes
     WHERE crash_id = $1
),
kept AS (
    SELECT l.location_id
      FROM now_row AS r
      JOIN atd_txdot_locations AS l ON l.location_id = r.location_id
     WHERE l.description ILIKE '%SVRD%'
       AND r.latitude_primary = ST_Y(ST_Centroid(l.shape))
       AND r.longitude_primary = ST_X(ST_Centroid(l.shape))
),
main_lane AS (
    SELECT NOT EXISTS (SELECT 1 FROM kept) AND EXISTS (SELECT 1 FROM find_cr3_mainlane_crash($1)) AS yes
),
service_road AS (
    SELECT l.location_id, ST_Y(ST_Centroid(l.shape)) AS lat, ST_X(ST_Centroid(l.shape)) AS lon
      FROM find_service_road_location_for_centerline_crash($1) AS l
     WHERE (SELECT yes FROM main_lane)
     LIMIT 1
),
decision AS (
    SELECT r.crash_id,
           r.location_id AS old_location,
           CASE WHEN k.location_id IS NOT NULL THEN k.location_id
                WHEN s.location_id IS NOT NULL THEN s.location_id
                WHEN m.yes THEN NULL
                ELSE (SELECT f.location_id FROM find_location_for_cr3_collision($1) AS f LIMIT 1)
           END AS new_location,
           s.location_id IS NOT NULL AS moves,
           m.yes AS on_main_lane,
           k.location_id IS NOT NULL AS kept,
           r.latitude_primary AS old_lat,
           r.longitude_primary AS old_lon,
           CASE WHEN s.location_id IS NOT NULL THEN s.lat ELSE r.latitude_primary END AS new_lat,
           CASE WHEN s.location_id IS NOT NULL THEN s.lon ELSE r.longitude_primary END AS new_lon
      FROM now_row AS r
     CROSS JOIN main_lane AS m
      LEFT JOIN service_road AS s ON true
      LEFT JOIN kept AS k ON true
),
moved AS (
    UPDATE atd_txdot_crashes AS c
       SET location_id = d.new_location, latitude_primary = d.new_lat, longitude_primary = d.new_lon
      FROM decision AS d
     WHERE c.crash_id = d.crash_id AND d.moves
       AND (c.location_id IS DISTINCT FROM d.new_location
            OR c.latitude_primary IS DISTINCT FROM d.new_lat
            OR c.longitude_primary IS DISTINCT FROM d.new_lon)
    RETURNING c.crash_id
),
assigned AS (
    UPDATE atd_txdot_crashes AS c
       SET location_id = d.new_location
      FROM decision AS d
     WHERE c.crash_id = d.crash_id AND NOT d.moves
       AND c.location_id IS DISTINCT FROM d.new_location
    RETURNING c.crash_id
)
SELECT d.old_location,
       d.new_location,
       EXISTS (SELECT 1 FROM moved) OR EXISTS (SELECT 1 FROM assigned) AS wrote,
       CASE WHEN d.kept THEN 'service_road_kept'
            WHEN d.moves THEN 'service_road'
            WHEN d.on_main_lane THEN 'main_lane'
            WHEN d.new_location IS NOT NULL THEN 'intersection'
            ELSE 'no_location'
       END AS branch,
       d.old_lat, d.old_lon, d.new_lat, d.new_lon
  FROM decision AS d
