# faults.cmake -- fault injection with real servers (tests/faults/faults.sh): PostgreSQL SIGKILLed
# mid-batch and started again, and right after an answer over five rounds (durable commits), PostgreSQL frozen (SIGSTOP) past the function timeout, an event of
# 6 MiB, the SQS server frozen and gone when the endpoint sends.  Each scenario starts its own
# throwaway servers (scripts/db, scripts/sqs-server) and FAILS when one cannot start.
# The Runtime API's faults are the runtime_* scenarios (tests/runtime.cmake).
vz_scenarios(faults ${CMAKE_CURRENT_SOURCE_DIR}/faults/faults.sh "faults;integration" 240
             SCENARIOS pg_kill pg_kill_answered pg_stop sqs_down runtime_api
             ARGS ${VZ_RUNTIME_TEST_ARGS} ${CMAKE_SOURCE_DIR})
