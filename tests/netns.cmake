# netns.cmake -- dead connections found in seconds (tests/netns/netns.sh): vz-events and its
# PostgreSQL (a streaming replica for the failover) and SQS server in network namespaces the test
# creates, the established flow dropped silently by iptables inside them.  Needs root, ip and
# iptables (scripts/packages.txt); every namespace, rule and process is removed at the end.
vz_scenarios(netns ${CMAKE_CURRENT_SOURCE_DIR}/netns/netns.sh "netns;integration" 120
             SCENARIOS db_drop db_deadline db_connect db_failover sqs_drop
             ARGS ${VZ_RUNTIME_TEST_ARGS} ${CMAKE_SOURCE_DIR})
