# What scripts/bench relies on (no speed is asserted anywhere in the tests): the emulator's
# stats endpoint and cold-start timestamps, the baseline runtime; and a minimal end-to-end run of
# scripts/bench (label bench, excluded from the sanitizer and valgrind passes: nosan).
if(TARGET bench_baseline)
add_test(NAME bench_emulator_stats
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/bench/emulator_stats.sh $<TARGET_FILE:vz-emulator>
                 $<TARGET_FILE:vz-events> $<TARGET_FILE:vz-events-test> ${CMAKE_CURRENT_SOURCE_DIR}/fixtures
                 $<TARGET_FILE:bench_baseline>)
set_tests_properties(bench_emulator_stats PROPERTIES LABELS "runtime;integration" TIMEOUT 120)
endif()

# scripts/bench --smoke: about 30 s alone (230 s once with the 2-core machine at load average 15-19); it starts its own emulators and PostGIS.
if(TARGET bench_baseline)
  add_test(NAME bench_smoke COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/bench/smoke.sh ${CMAKE_SOURCE_DIR} ${CMAKE_BINARY_DIR})
  set_tests_properties(bench_smoke PROPERTIES LABELS "bench;nosan" TIMEOUT 360)
endif()
