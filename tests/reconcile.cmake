# reconcile.cmake -- `vz-events reconcile` and the scheduled reconcile function against a real PostgreSQL +
# PostGIS (tests/reconcile/reconcile_test.sh).  Each scenario starts its own throwaway cluster (scripts/db)
# and FAILS when it cannot start.
#   reconcile_branches  drift on every branch of the three handlers, report / fix / second run, the scheduled
#                       form behind vz-emulator, and every metric line checked against the EMF specification
#   reconcile_kill      PostgreSQL SIGKILLed part-way through a --fix of 20,000 crashes; a rerun finishes;
#                       the scheduled form with a 4 s timeout answers in time, each handler given a share
#   reconcile_edges     negative keys in every run; the stop message of a page that failed whole names where
#                       it began; a report takes no row lock
vz_scenarios(reconcile ${CMAKE_CURRENT_SOURCE_DIR}/reconcile/reconcile_test.sh "integration;db" 300
             SCENARIOS branches kill edges
             ARGS $<TARGET_FILE:vz-events> $<TARGET_FILE:vz-emulator> ${CMAKE_SOURCE_DIR})
