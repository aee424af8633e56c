# e2e.cmake -- the whole local flow: POST /events/ → local-aws-sqs → event source mapping → vz-events → PostGIS.
# Starts its own servers (scripts/flow: local-aws-sqs from npm, a throwaway PostGIS, vz-emulator) and
# stops them; it fails when one cannot start.  About 30 s, most of it SQS's DelaySeconds=10 and redelivery.
add_test(NAME e2e COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/e2e_test.sh ${CMAKE_SOURCE_DIR} ${CMAKE_BINARY_DIR})
set_tests_properties(e2e PROPERTIES LABELS "e2e;integration" TIMEOUT 300)
