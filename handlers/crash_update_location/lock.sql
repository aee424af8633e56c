-- crash_update_location: lock the crash row for the rest of the record's transaction.  $1 = crash_id.
SELECT crash_id FROM atd_txdot_crashes WHERE crash_id = $1 FOR UPDATE
