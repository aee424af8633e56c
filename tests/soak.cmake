# soak.cmake -- the short soak run (scripts/soak with 25 s of sending, about 75 s in all): mixed good
# and bad events through the whole local flow (scripts/flow: local-aws-sqs, PostGIS, vz-emulator),
# the database restarted halfway, every message accounted for, VmRSS of vz-events flat.
# Release build only (the sanitizers' quarantine grows memory by design).  `scripts/soak MINUTES` is the long run.
add_test(NAME soak_short COMMAND env VZ_SOAK_SEND_SECONDS=25 bash ${CMAKE_SOURCE_DIR}/scripts/soak 1 ${CMAKE_BINARY_DIR})
set_tests_properties(soak_short PROPERTIES LABELS "soak;integration;nosan" TIMEOUT 400)
