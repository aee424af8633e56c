# faults.cmake -- fault injection with real servers (tests/faults/faults.sh): PostgreSQL SIGKILLed
# mid-batch and started again, and right after an answer over five rounds (durable commits), PostgreSQL frozen (SIGSTOP) past the function timeout, an event of
# 6 MiB, the SQS server frozen and gone when the endpoint sends.  Each scenario starts its own
# throwaway servers (scripts/db, scripts/sqs-server) and FAILS when one cannot start.
# The Runtime API's faults are the runtime_* scenarios (tests/runtime.cmake).
foreach(scenario pg_kill pg_kill_answered pg_stop sqs_down runtime_api)
  add_test(NAME faults_${scenario}
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/faults/faults.sh ${scenario} $<TARGET_FILE:vz-emulator>
                   $<TARGET_FILE:vz-events> $<TARGET_FILE:vz-events-test> ${CMAKE_CURRENT_SOURCE_DIR}/fixtures
                   ${CMAKE_SOURCE_DIR})
  set_tests_properties(faults_${scenario} PROPERTIES LABELS "faults;integration" TIMEOUT 240)
endforeach()
