# sigv4.cmake -- every SQS request is checked by a SigV4 verifier that is not ours.
#   sigv4_verifier: scripts/sqs-server's verifier (tools/sigv4-verifier, botocore's signer from Debian's
#     python3-botocore) in front of local-aws-sqs, a session token required: `vz-events dlq` passes it;
#     a wrong secret, a wrong region, a missing token, another key, a body changed on the way and
#     libcurl's "Expect:" signing are each refused, and the user is told the code.  About 20 s.
#   sigv4_moto: moto's server (the machine's python3; INITIAL_NO_AUTH_ACTION_COUNT) with its signature
#     check on accepts `vz-events dlq` with an IAM user's key and with an assumed role's session
#     credentials, and refuses a wrong secret and a missing token.  FAILS if moto is missing.  About 15 s.
# The other integration tests' SQS traffic (endpoint, dlq, emulator ESM, e2e, flow, package) goes
# through the same verifier: scripts/sqs-server starts it in front of every local SQS server.
add_test(NAME sigv4_verifier COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/sigv4/verifier_test.sh ${CMAKE_SOURCE_DIR}
                                     $<TARGET_FILE:vz-events>)
set_tests_properties(sigv4_verifier PROPERTIES LABELS "sqs;sigv4" TIMEOUT 180)
add_test(NAME sigv4_moto COMMAND python3 -B ${CMAKE_CURRENT_SOURCE_DIR}/sigv4/moto_test.py $<TARGET_FILE:vz-events>)
set_tests_properties(sigv4_moto PROPERTIES LABELS "sqs;sigv4;moto" TIMEOUT 180)
