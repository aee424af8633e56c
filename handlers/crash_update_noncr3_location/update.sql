-- crash_update_noncr3_location: recompute a non-CR3 report's location and write it only if it
-- differs from the row as it is now (locked by lock.sql).  $1 = case_id.
--   on a non-CR3 main lane: NULL; otherwise the first group-1 location containing it, or NULL.
-- Answer (no row when the report does not exist): old_location, new_location, wrote, branch
WITH now_row AS (
    SELECT case_id, location_id FROM atd_apd_blueform WHERE case_id = $1
),
decision AS (
    SELECT r.case_id,
           r.location_id AS old_location,
           m.yes AS on_main_lane,
           CASE WHEN m.yes THEN NULL
                ELSE (SELECT f.location_id FROM find_location_for_noncr3_collision($1) AS f LIMIT 1)
           END AS new_location
      FROM now_row AS r
     CROSS JOIN (SELECT EXISTS (SELECT 1 FROM find_noncr3_mainlane_crash($1)) AS yes) AS m
),
written AS (
    UPDATE atd_apd_blueform AS b
       SET location_id = d.new_location
      FROM decision AS d
     WHERE b.case_id = d.case_id AND b.location_id IS DISTINCT FROM d.new_location
    RETURNING b.case_id
)
SELECT d.old_location,
       d.new_location,
       EXISTS (SELECT 1 FROM written) AS wrote,
       CASE WHEN d.on_main_lane THEN 'main_lane'
            WHEN d.new_location IS NOT NULL THEN 'intersection'
            ELSE 'no_location'
       END AS branch
  FROM decision AS d
