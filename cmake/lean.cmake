# The lean bootstrap: the binary scripts/package puts at the root of the zip as `bootstrap`.
#
# Not built by default (development and unit tests use the dynamic vz-events):
# `cmake --build DIR --target bootstrap` builds it.  The same sources as
# vz-events, linked with
#   - libcurl built from Debian's curl source package (scripts/lean-curl: HTTP and
#     HTTPS with SigV4, nothing else), linked statically; VZ_LEAN_TLS picks how
#     TLS comes in (see docs/performance.md, "The lean bootstrap");
#   - cJSON compiled from Debian's cjson source package, linked statically;
#   - src/lean/pq_loader.c in place of -lpq: libpq is dlopen'ed from the zip's
#     lib/ on the first database connection; that libpq.so.5 is built from Debian's
#     postgresql-15 source package (scripts/lean-pq: OpenSSL alone, no GSSAPI, LDAP,
#     ...) into DIR/lean/lib, where scripts/package takes it; VZ_LEAN_PQ picks how
#     it gets OpenSSL;
# and an rpath of $ORIGIN/lib as DT_RPATH, which the loader searches before
# LD_LIBRARY_PATH (Lambda's lists the image's folders before the task's lib/),
# for the binary's own libraries and for everything libpq pulls in.
# The fetched sources and the libcurl builds are cached in VZ_LEAN_CACHE (DIR/lean
# unless given: a test building a copy of the tree passes its build's, so that
# libcurl is built once per machine rather than once per copy).
set(VZ_LEAN_TLS "loaded" CACHE STRING
    "How the lean bootstrap gets TLS: loaded (on the SQS client's first use), static (OpenSSL linked in) or system (libssl.so.3 at start)")
set_property(CACHE VZ_LEAN_TLS PROPERTY STRINGS loaded static system)
set(VZ_LEAN_DIR ${CMAKE_BINARY_DIR}/lean)
set(VZ_LEAN_CACHE ${VZ_LEAN_DIR} CACHE PATH "Where the lean bootstrap's Debian sources and libcurl builds are cached")
set(VZ_LEAN_CURL_HTTPS ${VZ_LEAN_CACHE}/curl-openssl)
if(VZ_LEAN_TLS STREQUAL "loaded")
  set(VZ_LEAN_CURL ${VZ_LEAN_CACHE}/curl-http)
else()
  set(VZ_LEAN_CURL ${VZ_LEAN_CURL_HTTPS})
endif()
set(VZ_LEAN_CJSON ${VZ_LEAN_CACHE}/debian/cjson)
set(VZ_LEAN_PQ "static" CACHE STRING
    "How the lean bootstrap's libpq.so.5 gets OpenSSL: static (linked in, symbols hidden) or system (the image's libssl.so.3)")
set_property(CACHE VZ_LEAN_PQ PROPERTY STRINGS static system)

execute_process(COMMAND dpkg-query -W -f "\${source:Version}" libcjson-dev
                OUTPUT_VARIABLE VZ_CJSON_SOURCE_VERSION RESULT_VARIABLE rc ERROR_QUIET)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "lean bootstrap: libcjson-dev is not installed (scripts/deps); its version picks cJSON's source")
endif()

foreach(variant http openssl)
  add_custom_command(
    OUTPUT ${VZ_LEAN_CACHE}/curl-${variant}/lib/libcurl.a
    COMMAND ${CMAKE_SOURCE_DIR}/scripts/lean-curl ${VZ_LEAN_CACHE} ${variant}
    DEPENDS ${CMAKE_SOURCE_DIR}/scripts/lean-curl ${CMAKE_SOURCE_DIR}/scripts/debian-source
    COMMENT "libcurl (${variant}) from Debian's curl source package (cached in ${VZ_LEAN_CACHE})"
    VERBATIM)
endforeach()
# libpq.so.5 for the zip's lib/: the real file and its soname link, as scripts/package bundles them.
# The stamp (rewritten only when its text changes) rebuilds them for another variant, libpq-dev or
# libssl-dev (OpenSSL linked in: a security update must reach the zip).
execute_process(COMMAND dpkg-query -W -f "\${source:Version}" libpq-dev
                OUTPUT_VARIABLE VZ_PQ_SOURCE_VERSION RESULT_VARIABLE rc ERROR_QUIET)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "lean bootstrap: libpq-dev is not installed (scripts/deps); its version picks libpq's source")
endif()
execute_process(COMMAND dpkg-query -W -f "\${Version}" libssl-dev OUTPUT_VARIABLE VZ_SSL_VERSION ERROR_QUIET)
string(REGEX MATCH "^[0-9]+" VZ_PQ_MAJOR "${VZ_PQ_SOURCE_VERSION}") # libpq.so.5.15 for 15.x
file(CONFIGURE OUTPUT ${VZ_LEAN_DIR}/pq.stamp CONTENT "${VZ_PQ_SOURCE_VERSION} ${VZ_LEAN_PQ} libssl-dev ${VZ_SSL_VERSION}\n")
add_custom_command(
  OUTPUT ${VZ_LEAN_DIR}/lib/libpq.so.5
  COMMAND ${CMAKE_SOURCE_DIR}/scripts/lean-pq ${VZ_LEAN_CACHE} ${VZ_LEAN_PQ}
  COMMAND ${CMAKE_COMMAND} -E make_directory ${VZ_LEAN_DIR}/lib
  COMMAND ${CMAKE_COMMAND} -E copy ${VZ_LEAN_CACHE}/pq-${VZ_LEAN_PQ}/lib/libpq.so.5.${VZ_PQ_MAJOR} ${VZ_LEAN_DIR}/lib/
  COMMAND ${CMAKE_COMMAND} -E create_symlink libpq.so.5.${VZ_PQ_MAJOR} ${VZ_LEAN_DIR}/lib/libpq.so.5
  COMMAND ${CMAKE_COMMAND} -E copy ${VZ_LEAN_CACHE}/pq-${VZ_LEAN_PQ}/source-version ${VZ_LEAN_DIR}/libpq.source-version
  DEPENDS ${CMAKE_SOURCE_DIR}/scripts/lean-pq ${CMAKE_SOURCE_DIR}/scripts/debian-source ${VZ_LEAN_DIR}/pq.stamp
  COMMENT "libpq (OpenSSL ${VZ_LEAN_PQ}) from Debian's postgresql-15 source package (cached in ${VZ_LEAN_CACHE})"
  VERBATIM)
add_custom_target(lean_pq DEPENDS ${VZ_LEAN_DIR}/lib/libpq.so.5)
add_custom_command(
  OUTPUT ${VZ_LEAN_CJSON}/cJSON.c ${VZ_LEAN_CJSON}/cJSON.h
  COMMAND ${CMAKE_SOURCE_DIR}/scripts/debian-source ${VZ_LEAN_CACHE}/debian cjson ${VZ_CJSON_SOURCE_VERSION}
  DEPENDS ${CMAKE_SOURCE_DIR}/scripts/debian-source
  COMMENT "cJSON from Debian's cjson source package (cached in ${VZ_LEAN_CACHE})"
  VERBATIM)
# The sources include <cjson/cJSON.h>: the Debian source's header, under that name.
add_custom_command(
  OUTPUT ${VZ_LEAN_DIR}/include/cjson/cJSON.h
  COMMAND ${CMAKE_COMMAND} -E copy ${VZ_LEAN_CJSON}/cJSON.h ${VZ_LEAN_DIR}/include/cjson/cJSON.h
  DEPENDS ${VZ_LEAN_CJSON}/cJSON.h
  VERBATIM)

# cJSON: third-party code, compiled as its upstream build does (its warnings are not ours).
add_library(vzlean_cjson STATIC EXCLUDE_FROM_ALL ${VZ_LEAN_CJSON}/cJSON.c)
set_source_files_properties(${VZ_LEAN_CJSON}/cJSON.c PROPERTIES GENERATED TRUE COMPILE_OPTIONS "-w")
target_include_directories(vzlean_cjson PUBLIC ${VZ_LEAN_DIR}/include/cjson)
add_dependencies(vzlean_cjson lean_sources)

add_library(vzlean_curl STATIC IMPORTED)
set_target_properties(vzlean_curl PROPERTIES IMPORTED_LOCATION ${VZ_LEAN_CURL}/lib/libcurl.a)
set(vz_lean_sources ${CMAKE_SOURCE_DIR}/src/lean/pq_loader.c)
if(VZ_LEAN_TLS STREQUAL "loaded")
  # lib/libvz-curl-https.so: the OpenSSL libcurl as a shared library (its curl_* only exported;
  # -Bsymbolic: its calls stay inside it), for src/lean/curl_https.c to dlopen.
  file(WRITE ${VZ_LEAN_DIR}/curl_https_so.c "/* libvz-curl-https.so: libcurl.a (OpenSSL) whole, nothing of ours. */\nint vz_curl_https_marker;\n")
  file(WRITE ${VZ_LEAN_DIR}/curl_https.map "{ global: curl_*; local: *; };\n")
  add_library(vzlean_curl_https_a STATIC IMPORTED)
  set_target_properties(vzlean_curl_https_a PROPERTIES IMPORTED_LOCATION ${VZ_LEAN_CURL_HTTPS}/lib/libcurl.a)
  add_library(vz-curl-https SHARED EXCLUDE_FROM_ALL ${VZ_LEAN_DIR}/curl_https_so.c)
  add_dependencies(vz-curl-https lean_sources)
  target_link_libraries(vz-curl-https PRIVATE "$<LINK_LIBRARY:WHOLE_ARCHIVE,vzlean_curl_https_a>" ssl crypto pthread)
  target_link_options(vz-curl-https PRIVATE -Wl,-Bsymbolic -Wl,--as-needed -Wl,--version-script=${VZ_LEAN_DIR}/curl_https.map)
  set_target_properties(vz-curl-https PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${VZ_LEAN_DIR}/lib NO_SONAME OFF)
  # The SQS client, its libcurl calls renamed to src/lean/curl_https.c's.
  file(WRITE ${VZ_LEAN_DIR}/sqs_client_https.c
       "/* sqs_client.c with its libcurl calls sent to the HTTPS library (cmake/lean.cmake). */\n#include \"curl_https.h\"\n#include \"${CMAKE_SOURCE_DIR}/src/sqs_client.c\"\n")
  list(APPEND vz_lean_sources ${VZ_LEAN_DIR}/sqs_client_https.c ${CMAKE_SOURCE_DIR}/src/lean/curl_https.c)
  set(VZ_LEAN_TLS_LIBS "")
elseif(VZ_LEAN_TLS STREQUAL "static")
  # Debian's libssl-dev ships the archives; the linker takes only the objects libcurl uses.
  find_library(VZ_LIBSSL_A NAMES libssl.a REQUIRED)
  find_library(VZ_LIBCRYPTO_A NAMES libcrypto.a REQUIRED)
  set(VZ_LEAN_TLS_LIBS ${VZ_LIBSSL_A} ${VZ_LIBCRYPTO_A})
else()
  set(VZ_LEAN_TLS_LIBS ssl crypto)
endif()
add_custom_target(lean_sources DEPENDS ${VZ_LEAN_CURL}/lib/libcurl.a ${VZ_LEAN_CURL_HTTPS}/lib/libcurl.a
                                       ${VZ_LEAN_DIR}/include/cjson/cJSON.h)

# The core: vz-events' own objects (libvzcore.a; the system's cJSON and libcurl headers are the
# same versions as the Debian sources linked here), with three lean objects linked ahead of the
# archive so that theirs are the definitions used: the libpq loader, and, with TLS loaded, the
# SQS client compiled against the HTTPS library and its loader.
add_library(vzlean_core OBJECT EXCLUDE_FROM_ALL ${vz_lean_sources})
add_dependencies(vzlean_core lean_sources)
target_include_directories(vzlean_core BEFORE PRIVATE ${VZ_LEAN_DIR}/include ${VZ_LEAN_CURL}/include)
target_include_directories(vzlean_core PRIVATE ${CMAKE_SOURCE_DIR}/include ${CMAKE_BINARY_DIR}/generated ${PQ_INCLUDE_DIRS}
                                               ${CMAKE_SOURCE_DIR}/src/lean)
target_compile_definitions(vzlean_core PRIVATE _GNU_SOURCE)
set(vz_lean_links $<TARGET_FILE:vzcore> vzlean_cjson vzlean_curl ${VZ_LEAN_TLS_LIBS}
                  ${CMAKE_DL_LIBS} pthread)

# The handlers' objects are vz-events' own (same cJSON version's header); their
# handler.deps libraries are linked as vz-events links them.
get_target_property(vz_handler_links vzhandlers LINK_LIBRARIES)
list(REMOVE_ITEM vz_handler_links vzcore)
add_executable(bootstrap EXCLUDE_FROM_ALL src/main.c $<TARGET_OBJECTS:vzhandlers> $<TARGET_OBJECTS:vzlean_core>)
target_include_directories(bootstrap PRIVATE ${CMAKE_SOURCE_DIR}/include ${CMAKE_BINARY_DIR}/generated)
add_dependencies(bootstrap vzlean_core vzcore lean_pq)
target_link_libraries(bootstrap PRIVATE ${vz_lean_links} ${vz_handler_links})
target_link_options(bootstrap PRIVATE -Wl,--disable-new-dtags -Wl,--gc-sections -Wl,--as-needed)
if(TARGET vz-curl-https)
  add_dependencies(bootstrap vz-curl-https)
endif()
set_target_properties(bootstrap PROPERTIES BUILD_RPATH "\$ORIGIN/lib" INSTALL_RPATH "\$ORIGIN/lib"
                                           BUILD_WITH_INSTALL_RPATH ON RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/lean)
