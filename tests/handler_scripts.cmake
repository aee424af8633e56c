# Each handler folder's own test: handlers/<name>/test.sh, given the built binary
# (scripts/new-handler writes one for every new handler).
file(GLOB VZ_HANDLER_TESTS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/handlers/*/test.sh)
foreach(t ${VZ_HANDLER_TESTS})
  get_filename_component(dir ${t} DIRECTORY)
  get_filename_component(name ${dir} NAME)
  add_test(NAME handler_${name} COMMAND bash ${t} $<TARGET_FILE:vz-events>)
  set_tests_properties(handler_${name} PROPERTIES LABELS "handler;memcheck")
endforeach()

# scripts/new-handler: one command gives a handler that builds, is tested and is deployed.
add_test(NAME new_handler_script COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/new_handler_script_test.sh ${CMAKE_SOURCE_DIR})
set_tests_properties(new_handler_script PROPERTIES LABELS "build;handler" TIMEOUT 300)

# A SQL-only handler's handler.conf and update.sql are checked when the build is configured.
add_test(NAME sql_handler_conf COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/sql_handler_conf_test.sh ${CMAKE_SOURCE_DIR})
set_tests_properties(sql_handler_conf PROPERTIES LABELS "build;handler" TIMEOUT 300)

# docs/handlers.md and the README's handler example: every code block is extracted, built and run.
add_test(NAME handlers_guide COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/handlers_guide_test.sh ${CMAKE_SOURCE_DIR})
set_tests_properties(handlers_guide PROPERTIES LABELS "build;handler;db" TIMEOUT 300)

# docs/handlers.md's walk-through, run block by block: a new SQL handler scaffolded, tested, its
# Hasura metadata rendered, and its events sent through the local flow (scripts/flow).
add_test(NAME handlers_walkthrough COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/handlers_walkthrough_test.sh ${CMAKE_SOURCE_DIR})
set_tests_properties(handlers_walkthrough PROPERTIES LABELS "build;handler;db;sqs;integration" TIMEOUT 900)
