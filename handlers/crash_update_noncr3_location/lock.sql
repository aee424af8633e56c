-- crash_update_noncr3_location: lock the report's row for the rest of the record's transaction.  $1 = case_id.
SELECT case_id FROM atd_apd_blueform WHERE case_id = $1 FOR UPDATE
