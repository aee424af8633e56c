# netns.cmake -- dead connections found in seconds (tests/netns/netns.sh): vz-events and its
# PostgreSQL (a streaming replica for the failover) and SQS server in network namespaces the test
# creates, the established flow dropped silently by iptables inside them.  Needs root, ip and
# iptables (scripts/packages.txt); every namespace, rule and process is removed at the end.
# This kernel has no netem: db_lossy delays packets with vz-nfq-delay (an NFQUEUE reader, Debian's
# libnetfilter-queue-dev) and drops them with iptables' statistic match.
pkg_check_modules(NFQ IMPORTED_TARGET libnetfilter_queue)
if(NFQ_FOUND)
  add_executable(vz-nfq-delay ${CMAKE_CURRENT_SOURCE_DIR}/netns/nfq_delay.c)
  target_link_libraries(vz-nfq-delay PRIVATE PkgConfig::NFQ)
  set(VZ_NFQ_DELAY $<TARGET_FILE:vz-nfq-delay>)
else()
  set(VZ_NFQ_DELAY "libnetfilter-queue-dev-is-missing")
endif()
vz_scenarios(netns ${CMAKE_CURRENT_SOURCE_DIR}/netns/netns.sh "netns;integration" 600
             SCENARIOS db_drop db_deadline db_connect db_failover db_lossy sqs_drop
             ARGS ${VZ_RUNTIME_TEST_ARGS} ${CMAKE_SOURCE_DIR} ${VZ_NFQ_DELAY})
