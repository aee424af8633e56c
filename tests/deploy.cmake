# Deployment.  deploy_definition: the rendered CloudFormation template of each stage (the
# endpoint policies evaluated against every queue, alarms, topic, schedule), and scripts/deploy,
# destroy, status, logs and new-handler run against tests/aws-standin/aws, a STAND-IN for the
# AWS CLI, for what moto cannot do (alarms, function URL, termination protection, rollback,
# stack outputs after a change set, `logs tail` output, failures on demand).
# deploy_moto: the scripts with the real AWS CLI against moto's server, a real CloudFormation
# engine, deploying the zip package_self_contained built (fixture vz_zip); every resource read
# back with boto3.  deploy_cfn_lint: cfn-lint on every stage's template.  Both run on the
# machine's python3 (moto, boto3, awscli, cfn-lint preinstalled; .ci/run checks them).
# deploy_quotas: 40 handlers within every CloudFormation quota.  deploy_hasura: deploy/render
# --hasura, every stage's event triggers in Hasura's metadata format, their columns against a
# throwaway PostGIS (scripts/db), a pull request's point-and-restore round trip on an exported
# metadata directory.  ci_workflows: the CI workflows parse and call the scripts.  Python
# only, no C: nothing for the sanitizers to see (nosan).
add_test(NAME deploy_definition COMMAND /usr/bin/python3 -B ${CMAKE_CURRENT_SOURCE_DIR}/deploy_test.py ${CMAKE_SOURCE_DIR})
set_tests_properties(deploy_definition PROPERTIES LABELS "deploy;nosan" TIMEOUT 900)

add_test(NAME deploy_quotas COMMAND /usr/bin/python3 -B ${CMAKE_CURRENT_SOURCE_DIR}/deploy_quotas_test.py ${CMAKE_SOURCE_DIR})
set_tests_properties(deploy_quotas PROPERTIES LABELS "deploy;nosan" TIMEOUT 120)

add_test(NAME deploy_hasura COMMAND /usr/bin/python3 -B ${CMAKE_CURRENT_SOURCE_DIR}/deploy_hasura_test.py ${CMAKE_SOURCE_DIR})
set_tests_properties(deploy_hasura PROPERTIES LABELS "deploy;db;nosan" TIMEOUT 180)

add_test(NAME ci_workflows COMMAND /usr/bin/python3 -B ${CMAKE_CURRENT_SOURCE_DIR}/workflows_test.py ${CMAKE_SOURCE_DIR})
set_tests_properties(ci_workflows PROPERTIES LABELS "deploy;nosan" TIMEOUT 60)

add_test(NAME deploy_moto COMMAND /usr/bin/env python3 -B ${CMAKE_CURRENT_SOURCE_DIR}/deploy_moto_test.py ${CMAKE_SOURCE_DIR}
                 ${CMAKE_BINARY_DIR}/package-test/vz-events.zip)
set_tests_properties(deploy_moto PROPERTIES LABELS "deploy;nosan" TIMEOUT 1800 FIXTURES_REQUIRED vz_zip)

add_test(NAME deploy_cfn_lint COMMAND /usr/bin/env python3 -B ${CMAKE_CURRENT_SOURCE_DIR}/deploy_cfn_lint_test.py ${CMAKE_SOURCE_DIR})
set_tests_properties(deploy_cfn_lint PROPERTIES LABELS "deploy;nosan" TIMEOUT 300)
