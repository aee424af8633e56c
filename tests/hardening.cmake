# Build hardening of the binary (readelf) and of every compile command.
# The release build only: the sanitizer and Debug builds do not fortify ("build" keeps it out of them).
add_test(NAME hardening COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/hardening_test.sh $<TARGET_FILE:vz-events>
         ${CMAKE_BINARY_DIR})
set_tests_properties(hardening PROPERTIES LABELS "build;hardening")
