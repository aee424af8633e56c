-- crash_update_jurisdiction: recompute austin_full_purpose ('Y' inside jurisdiction 5, the
-- full-purpose jurisdiction, else 'N') and write it only if it differs from the row as it is
-- now (locked by lock.sql).  $1 = crash_id.  city_id is left as the state sent it.
-- A crash without a position cannot be placed: then city_id = 22 decides ('Y', else 'N'),
-- the rule of production's BEFORE trigger, which would put 'Y' back over any other answer.
-- Answer (no row when the crash does not exist): old_flag, new_flag, wrote, branch
WITH now_row AS (
    SELECT crash_id, austin_full_purpose, position IS NULL AS unplaced, city_id = 22 AS in_city
      FROM atd_txdot_crashes
     WHERE crash_id = $1
),
decision AS (
    SELECT r.crash_id,
           r.austin_full_purpose::text AS old_flag,
           r.unplaced,
           CASE WHEN r.unplaced THEN CASE WHEN r.in_city THEN 'Y' ELSE 'N' END
                WHEN EXISTS (SELECT 1 FROM find_crash_in_jurisdiction(5, $1)) THEN 'Y'
                ELSE 'N'
           END AS new_flag
      FROM now_row AS r
),
written AS (
    UPDATE atd_txdot_crashes AS c
       SET austin_full_purpose = d.new_flag
      FROM decision AS d
     WHERE c.crash_id = d.crash_id AND c.austin_full_purpose IS DISTINCT FROM d.new_flag
    RETURNING c.crash_id
)
SELECT d.old_flag,
       d.new_flag,
       EXISTS (SELECT 1 FROM written) AS wrote,
       CASE WHEN d.unplaced THEN 'no_position'
            WHEN d.new_flag = 'Y' THEN 'full_purpose'
            ELSE 'outside_full_purpose'
       END AS branch
  FROM decision AS d
