# The Lambda runtime loop against vz-emulator (a local stand-in for Lambda's
# control plane, with a real HTTP server: libmicrohttpd), driven with curl.
# vz-events-test is vz-events with test-only handlers (tests/runtime/test_handlers.c).
add_executable(vz-events-test ${CMAKE_SOURCE_DIR}/src/main.c ${CMAKE_CURRENT_SOURCE_DIR}/runtime/test_handlers.c
                              ${CMAKE_SOURCE_DIR}/handlers/example/handler.c)
target_link_libraries(vz-events-test PRIVATE vzcore)

vz_scenarios(runtime ${CMAKE_CURRENT_SOURCE_DIR}/runtime/scenarios.sh "runtime;integration" 180
             SCENARIOS batch status_policy transport deadline killed queue_order too_large init_error non_ascii
                       sigterm context
             ARGS ${VZ_RUNTIME_TEST_ARGS})

# Memory: RSS after 10,000 invocations within 1 MiB of that after 100 (release build only: the
# sanitizers' quarantine grows by design), and valgrind finds no leak after 1,000 invocations.
add_test(NAME runtime_rss COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/runtime/memory.sh rss ${VZ_RUNTIME_TEST_ARGS})
set_tests_properties(runtime_rss PROPERTIES LABELS "runtime;nosan" TIMEOUT 300)
add_test(NAME runtime_valgrind_leaks COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/runtime/memory.sh leaks ${VZ_RUNTIME_TEST_ARGS})
set_tests_properties(runtime_valgrind_leaks PROPERTIES LABELS "runtime;nosan" TIMEOUT 300)
