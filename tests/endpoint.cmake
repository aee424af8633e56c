# endpoint.cmake -- the /events/ endpoint and the SQS client against a real SQS server.
# Server: local-aws-sqs from npm, started by `scripts/services start STATE sqs`
# (scripts/test does it); the test fails when AWS_ENDPOINT_URL_SQS is not set.
add_executable(endpoint_sqs ${CMAKE_CURRENT_SOURCE_DIR}/integration/endpoint_sqs.c)
target_link_libraries(endpoint_sqs PRIVATE vzhandlers vzcore PkgConfig::CMOCKA)
add_test(NAME endpoint_sqs COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/launch.sh $<TARGET_FILE:endpoint_sqs>)
set_tests_properties(endpoint_sqs PROPERTIES LABELS "sqs;memcheck" TIMEOUT 180)

# The handler-name rule: deploy/render --check-name gives tests/fixtures/handler-names.txt's verdicts
# (test_endpoint checks the endpoint's copy of the rule against the same file).  Python only (nosan).
add_test(NAME handler_names_rule COMMAND /usr/bin/python3 -B ${CMAKE_CURRENT_SOURCE_DIR}/handler_names_test.py
         ${CMAKE_SOURCE_DIR})
set_tests_properties(handler_names_rule PROPERTIES LABELS "deploy;nosan" TIMEOUT 60)
