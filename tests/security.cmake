# Security checks of the command line (no server): bodies never logged, hostile
# queue names refused, no forged log lines.  Run under valgrind too (memcheck).
add_test(NAME security COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/security_test.sh $<TARGET_FILE:vz-events>
         ${CMAKE_CURRENT_SOURCE_DIR}/fixtures)
set_tests_properties(security PROPERTIES LABELS "security;memcheck")
