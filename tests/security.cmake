# Security checks of the command line (no server): bodies never logged, hostile
# queue names refused, no forged log lines.  Run under valgrind too (memcheck).
add_test(NAME security COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/security_test.sh $<TARGET_FILE:vz-events>
         ${CMAKE_CURRENT_SOURCE_DIR}/fixtures)
set_tests_properties(security PROPERTIES LABELS "security;memcheck")

# SQL injection in every payload field against the real PostGIS of scripts/test (DATABASE_URL):
# a checksum of every table is the same before and after; keys beyond 32 bits and negative refused.
add_test(NAME security_db COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/security_db_test.sh $<TARGET_FILE:vz-events>)
set_tests_properties(security_db PROPERTIES LABELS "security;integration;db;memcheck" RESOURCE_LOCK vz_shared_db TIMEOUT 300)
