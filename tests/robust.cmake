# robust.cmake -- vz-events where it was attacked (tests/robust/robust.sh): stale prepared
# statements after a migration, malformed DATABASE_URLs with a real password, reports that
# match the database, JSON log lines with NaN coordinates, odd request ids and deadlines from a
# Runtime API, SQS retries, the emulator's SQS mapping bounded, odd identifiers.  Each scenario
# starts its own throwaway servers and fails when one cannot start.
vz_scenarios(robust ${CMAKE_CURRENT_SOURCE_DIR}/robust/robust.sh "robust;integration" 240
             SCENARIOS db_replan db_url db_timeout log_json request_id deadline sqs_retry esm_overrun odd_ids
                       client_context invoke_api
             ARGS ${VZ_RUNTIME_TEST_ARGS} ${CMAKE_SOURCE_DIR})
