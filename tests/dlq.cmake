# dlq.cmake -- `vz-events dlq list|redrive` against a real SQS server with a real redrive policy.
# Server: local-aws-sqs from npm, started by `scripts/services start STATE sqs` (scripts/test does it);
# the test fails when AWS_ENDPOINT_URL_SQS is not set.  Its two cases: each handler's dead letters back
# to their own queue; a redrive that stays in its stage (another stage's queue, a dead-letter queue and a
# forged DeadLetterQueueSourceArn message attribute refused).  About 50 s: 49.9 s and 50.8 s measured
# (`ctest -R dlq_sqs`, ASan and release builds) on the shared 2-core machine at a load average of 17;
# mostly waiting (three 1 s receives per message before SQS moves it, one 1 s empty receive per command).
add_executable(dlq_sqs ${CMAKE_CURRENT_SOURCE_DIR}/integration/dlq_sqs.c)
target_link_libraries(dlq_sqs PRIVATE vzhandlers vzcore PkgConfig::CMOCKA)
add_test(NAME dlq_sqs COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/launch.sh $<TARGET_FILE:dlq_sqs>)
set_tests_properties(dlq_sqs PROPERTIES LABELS "sqs;memcheck" TIMEOUT 180)
