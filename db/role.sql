-- db/role.sql -- the least-privilege role of the Vision Zero handlers.
--
-- usage: psql -v ON_ERROR_STOP=1 [-v role=NAME] -f db/role.sql DATABASE
--   as the owner of the tables.  Creates the group role NAME (default vz_events_handler,
--   NOLOGIN) when it is missing and grants it exactly what the three handlers need, and no
--   more; re-running it is harmless.  The functions log in as a member of it, e.g.
--     CREATE ROLE vz_events_lambda LOGIN PASSWORD '...' IN ROLE vz_events_handler;
--
-- What each grant is for:
--   * the handlers read the row (lock.sql: SELECT ... FOR UPDATE, which needs UPDATE on at
--     least one column) and call the database functions, which run as the caller
--     (SECURITY INVOKER) and read the crashes, reports, locations, main lanes and
--     jurisdictions;
--   * they write only location_id, the coordinates the service-road move changes
--     (latitude_primary, longitude_primary; `position` follows by trigger) and
--     austin_full_purpose on crashes, and location_id on reports;
--   * updating a crash runs its audit trigger as the calling role: it inserts the old row
--     into atd_txdot_change_log (INSERT, and USAGE on the sequence of change_log_id) and reads
--     the lookup tables for the cost, the speed-management points and the units' modes.
-- Nothing is granted on DELETE, INSERT into the data tables, TRUNCATE or other columns.
\if :{?role}
\else
\set role vz_events_handler
\endif

SELECT format('CREATE ROLE %I NOLOGIN', :'role')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'role') \gexec

GRANT USAGE ON SCHEMA public TO :"role";

-- Read by lock.sql, update.sql and the database functions they call.
GRANT SELECT ON atd_txdot_crashes, atd_apd_blueform, atd_txdot_locations, cr3_mainlanes, non_cr3_mainlanes,
                atd_jurisdictions
   TO :"role";
GRANT UPDATE (location_id, latitude_primary, longitude_primary, austin_full_purpose) ON atd_txdot_crashes TO :"role";
GRANT UPDATE (location_id) ON atd_apd_blueform TO :"role";
GRANT EXECUTE ON FUNCTION find_location_for_cr3_collision(integer), find_location_for_noncr3_collision(integer),
                          find_cr3_mainlane_crash(integer), find_noncr3_mainlane_crash(integer),
                          find_crash_in_jurisdiction(integer, integer),
                          find_service_road_location_for_centerline_crash(integer)
   TO :"role";

-- What the crashes' audit trigger does as the calling role.
GRANT INSERT ON atd_txdot_change_log TO :"role";
GRANT USAGE ON SEQUENCE atd_txdot_change_log_change_log_id_seq TO :"role";
GRANT SELECT ON atd_txdot__est_comp_cost, atd_txdot__speed_mgmt_lkp, atd__mode_category_lkp, atd_txdot_units,
                atd_txdot__veh_unit_desc_lkp, atd_txdot__veh_body_styl_lkp
   TO :"role";
