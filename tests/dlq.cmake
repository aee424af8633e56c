# dlq.cmake -- `vz-events dlq list|redrive` against a real SQS server with a real redrive policy.
# Server: local-aws-sqs from npm, started by `scripts/services start STATE sqs` (scripts/test does it);
# the test fails when AWS_ENDPOINT_URL_SQS is not set.  About 10 s (three 1 s receives per message
# before SQS moves it, then one 1 s empty receive at the end of each command).
add_executable(dlq_sqs ${CMAKE_CURRENT_SOURCE_DIR}/integration/dlq_sqs.c)
target_link_libraries(dlq_sqs PRIVATE vzhandlers vzcore PkgConfig::CMOCKA)
add_test(NAME dlq_sqs COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/launch.sh $<TARGET_FILE:dlq_sqs>)
set_tests_properties(dlq_sqs PROPERTIES LABELS "sqs;memcheck" TIMEOUT 180)
