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

# Every handler folder (discovered, not named) under the least-privilege role (a database and
# roles of its own on the server of scripts/test): each folder's own grants suffice for its
# fixtures and every row of its table, so do those of the committed db/role.sql, and without
# any one privilege the role holds some record fails with "permission denied".
add_test(NAME handlers_role COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/role_test.sh $<TARGET_FILE:vz-events>)
set_tests_properties(handlers_role PROPERTIES LABELS "integration;db" TIMEOUT 600)

# deploy/role, which writes db/role.sql from the folders: the committed file is current (else it
# names `deploy/role --write`), the audit trigger's grants follow an UPDATE of crashes, names quoted.
add_test(NAME role_sql_current COMMAND /usr/bin/python3 -B ${CMAKE_CURRENT_SOURCE_DIR}/role_gen_test.py
                                       ${CMAKE_SOURCE_DIR})
set_tests_properties(role_sql_current PROPERTIES LABELS "deploy;nosan" TIMEOUT 60)

# The differential test, short run (24 cells x 40 crashes, about 10 s): a random city of
# db/random_city.sql, every crash and report through the three handlers three times, each
# answer against tests/differential_oracle.sql; deliveries 2 and 3 write nothing.  The long
# run: scripts/differential --long.
add_test(NAME handlers_differential COMMAND ${CMAKE_SOURCE_DIR}/scripts/differential $<TARGET_FILE:vz-events>)
set_tests_properties(handlers_differential PROPERTIES LABELS "integration;db" TIMEOUT 300)

# A handler's mistakes are errors, never wrong rows (its own handlers and tables on the server of
# scripts/test): two rows for one key, wrote not a boolean, a statement that cannot be prepared,
# reconcile's statement names, the schema check's messages.
add_executable(it_contract ${CMAKE_CURRENT_SOURCE_DIR}/it_contract.c)
target_link_libraries(it_contract PRIVATE vzcore PkgConfig::CMOCKA)
add_test(NAME handlers_contract COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/launch.sh $<TARGET_FILE:it_contract>)
set_tests_properties(handlers_contract PROPERTIES LABELS "integration;db;memcheck" RESOURCE_LOCK vz_shared_db
                     TIMEOUT 120)

# Every handler's statements against the real schema: a throwaway PostGIS (scripts/db) with every
# handler's schema.sql; `vz-events check` prepares each rowsync handler's statements and compares
# their answer with the rule (wrote boolean, old and new text or the value column's type).
add_test(NAME handlers_schema COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/handlers_schema_test.sh
         $<TARGET_FILE:vz-events> ${CMAKE_SOURCE_DIR})
set_tests_properties(handlers_schema PROPERTIES LABELS "integration;db" TIMEOUT 120)
