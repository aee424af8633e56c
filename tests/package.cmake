# Packaging: scripts/package's zip is well formed and self-contained (tests/package_test.sh),
# and a library a handler declares in handler.deps lands in it (tests/package_deps_test.sh).
# Not in the sanitizer pass: a sanitizer build is not what Lambda runs.
add_test(NAME package_self_contained
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/package_test.sh ${CMAKE_SOURCE_DIR} ${CMAKE_BINARY_DIR}
                 ${CMAKE_CURRENT_SOURCE_DIR}/fixtures $<TARGET_FILE:vz-emulator>)
# It leaves the zip in BUILD_DIR/package-test/vz-events.zip for deploy_moto (fixture vz_zip).
# 600 s: run alone after scripts/build, it builds the lean bootstrap (./scripts/test builds it before ctest).
set_tests_properties(package_self_contained PROPERTIES LABELS "package;nosan" TIMEOUT 600 FIXTURES_SETUP vz_zip)

add_test(NAME package_handler_deps COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/package_deps_test.sh ${CMAKE_SOURCE_DIR} ${CMAKE_BINARY_DIR})
set_tests_properties(package_handler_deps PROPERTIES LABELS "package;build" TIMEOUT 300)

# The zip's bootstrap runs the local flow: the endpoint signing SigV4 to the local SQS server and
# the three handlers against PostGIS (tests/package_flow_test.sh).  Not in the sanitizer pass.
add_test(NAME package_flow COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/package_flow_test.sh ${CMAKE_SOURCE_DIR} ${CMAKE_BINARY_DIR})
set_tests_properties(package_flow PROPERTIES LABELS "package;e2e;integration;nosan" TIMEOUT 300)

# The zip's libpq (scripts/lean-pq, OpenSSL linked in) against a PostGIS with TLS on and a
# self-signed certificate, PGSSLMODE=require: the write lands; against the same server with TLS
# off the record fails alone with a clear log line (tests/package_tls_test.sh).
add_test(NAME package_tls COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/package_tls_test.sh ${CMAKE_SOURCE_DIR} ${CMAKE_BINARY_DIR})
set_tests_properties(package_tls PROPERTIES LABELS "package;integration;nosan" TIMEOUT 300)
