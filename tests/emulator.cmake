# emulator.cmake -- vz-emulator's SQS event source mapping and function URL front.
# Starts its own local-aws-sqs (scripts/sqs-server) and runs tests/emulator/scripted_runtime.sh as the
# runtime (it records each event and answers as scripted); fails when the server cannot start.
add_test(NAME emulator_esm_url COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/emulator/esm_url_test.sh ${CMAKE_SOURCE_DIR}
         ${CMAKE_BINARY_DIR})
set_tests_properties(emulator_esm_url PROPERTIES LABELS "emulator;sqs;integration" TIMEOUT 180)

# docs/emulator.md's table against Lambda and AWS's RIE: every row names a test that ctest runs.
add_test(NAME emulator_table COMMAND python3 -B ${CMAKE_CURRENT_SOURCE_DIR}/emulator/table_test.py ${CMAKE_SOURCE_DIR})
set_tests_properties(emulator_table PROPERTIES LABELS "emulator;docs" TIMEOUT 30)
