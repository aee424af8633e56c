-- @NAME@: recompute jurisdiction_id (the lowest id of the jurisdictions containing the crash,
-- NULL when none does or the crash has no position) and write it only if it differs from the
-- row as it is now.  $1 = crash_id.
-- TODO: replace the computation with your handler's; keep the shape of the answer.
-- Answer (no row when the crash does not exist), as include/vz/rowsync.h expects:
--   old value, new value, wrote (boolean), branch (which rule decided; for the log)
WITH now_row AS (
    SELECT crash_id, jurisdiction_id, position FROM atd_txdot_crashes WHERE crash_id = $1
),
decision AS (
    SELECT r.crash_id,
           r.jurisdiction_id AS old_value,
           (SELECT min(j.id) FROM atd_jurisdictions AS j WHERE ST_Contains(j.geometry, r.position)) AS new_value,
           r.position IS NULL AS no_position
      FROM now_row AS r
),
written AS (
    UPDATE atd_txdot_crashes AS c
       SET jurisdiction_id = d.new_value
      FROM decision AS d
     WHERE c.crash_id = d.crash_id AND c.jurisdiction_id IS DISTINCT FROM d.new_value
    RETURNING c.crash_id
)
SELECT d.old_value::text,
       d.new_value::text,
       EXISTS (SELECT 1 FROM written) AS wrote,
       CASE WHEN d.no_position THEN 'no_position'
            WHEN d.new_value IS NULL THEN 'outside_every_jurisdiction'
            ELSE 'inside_jurisdiction' END AS branch
  FROM decision AS d
