# Deployment.  deploy_definition: the rendered CloudFormation template of each stage (the
# endpoint policies evaluated against every queue, alarms, topic, schedule), and scripts/deploy,
# destroy, status, logs and new-handler run against tests/aws-standin/aws (a stand-in for the
# AWS CLI: the AWS control plane cannot run here).  deploy_quotas: 40 handlers within every
# CloudFormation quota.  deploy_hasura: deploy/render --hasura, every stage's event triggers in
# Hasura's metadata format, their columns against a throwaway PostGIS (scripts/db), a pull
# request's point-and-restore round trip on an exported metadata directory.  ci_workflows: the
# CI workflows parse and call the scripts.  Python only, no C: nothing for the sanitizers to see
# (nosan).
add_test(NAME deploy_definition COMMAND /usr/bin/python3 -B ${CMAKE_CURRENT_SOURCE_DIR}/deploy_test.py ${CMAKE_SOURCE_DIR})
set_tests_properties(deploy_definition PROPERTIES LABELS "deploy;nosan" TIMEOUT 300)

add_test(NAME deploy_quotas COMMAND /usr/bin/python3 -B ${CMAKE_CURRENT_SOURCE_DIR}/deploy_quotas_test.py ${CMAKE_SOURCE_DIR})
set_tests_properties(deploy_quotas PROPERTIES LABELS "deploy;nosan" TIMEOUT 120)

add_test(NAME deploy_hasura COMMAND /usr/bin/python3 -B ${CMAKE_CURRENT_SOURCE_DIR}/deploy_hasura_test.py ${CMAKE_SOURCE_DIR})
set_tests_properties(deploy_hasura PROPERTIES LABELS "deploy;db;nosan" TIMEOUT 180)

add_test(NAME ci_workflows COMMAND /usr/bin/python3 -B ${CMAKE_CURRENT_SOURCE_DIR}/workflows_test.py ${CMAKE_SOURCE_DIR})
set_tests_properties(ci_workflows PROPERTIES LABELS "deploy;nosan" TIMEOUT 60)
