# Integration tests of the Vision Zero handlers against a real PostgreSQL + PostGIS.
#   handlers_db         the server scripts/test starts (DATABASE_URL); every branch, exact values
#   handlers_db_faults  starts its own throwaway cluster (scripts/db) and stops/restarts it
# Both FAIL when their server is missing; neither skips.
add_executable(it_handlers ${CMAKE_CURRENT_SOURCE_DIR}/it_handlers.c)
target_link_libraries(it_handlers PRIVATE vzhandlers vzcore PkgConfig::CMOCKA)
target_compile_definitions(it_handlers PRIVATE VZ_SOURCE_DIR="${CMAKE_SOURCE_DIR}")

add_test(NAME handlers_db COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/launch.sh $<TARGET_FILE:it_handlers> branches)
set_tests_properties(handlers_db PROPERTIES LABELS "integration;db;memcheck" RESOURCE_LOCK vz_shared_db TIMEOUT 300)

add_test(NAME handlers_db_faults COMMAND $<TARGET_FILE:it_handlers> faults)
set_tests_properties(handlers_db_faults PROPERTIES LABELS "integration;db" TIMEOUT 300)

# The handlers under the least-privilege role of db/role.sql (a database and roles of its own
# on the server of scripts/test): the grants suffice, and without any one of them the record
# that writes fails and writes nothing.
add_test(NAME handlers_role COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/role_test.sh $<TARGET_FILE:vz-events>)
set_tests_properties(handlers_role PROPERTIES LABELS "integration;db" TIMEOUT 300)

# The differential test, short run (24 cells x 40 crashes, about 10 s): a random city of
# db/random_city.sql, every crash and report through the three handlers three times, each
# answer against tests/differential_oracle.sql; deliveries 2 and 3 write nothing.  The long
# run: scripts/differential --long.
add_test(NAME handlers_differential COMMAND ${CMAKE_SOURCE_DIR}/scripts/differential $<TARGET_FILE:vz-events>)
set_tests_properties(handlers_differential PROPERTIES LABELS "integration;db" TIMEOUT 300)
