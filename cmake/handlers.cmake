# Handler discovery: every folder handlers/<name>/ holding a handler.c (a C handler) or an
# update.sql (a SQL-only handler) is a handler.
#
# deploy/handlerconf.py reads and checks every folder (its `json` command); a
# refusal there fails the configuration with its message.  For a C handler the
# build compiles its *.c.  For a SQL-only handler (handler.conf: table, key,
# value, lock) it generates the C, generated/handlers/<name>/handler_gen.c from
# cmake/sql_handler.c.in: the rowsync rule (include/vz/rowsync.h) running
# lock.sql (or a generated `SELECT ... FOR UPDATE` of the row) then update.sql,
# and the registry entry with .rowsync set.  Every handler's *.sql is embedded
# (cmake/embed_sql.cmake), the libraries its optional `handler.deps` declares
# (lines "<pkg-config module> <Debian package>") are linked, and registry_gen.c
# lists every handler.  Nothing is edited by hand to add one: CONFIGURE_DEPENDS
# makes a new folder re-run this on the next build.

include(${CMAKE_SOURCE_DIR}/cmake/embed_sql.cmake)

# vz_sql_handler(NAME DIR JSON OUT_VAR): write the SQL-only handler's generated C from its folder as
# deploy/handlerconf.py read it (JSON: that folder's object) and set OUT_VAR to its path.  Fails the
# configuration, naming the file, on an update.sql that does not take the key as $1 alone.
function(vz_sql_handler name dir json out_var)
  foreach(k table key value lock)
    string(JSON conf_${k} GET "${json}" ${k})
  endforeach()
  file(READ ${dir}/update.sql sql)
  if(NOT sql MATCHES "\\$1([^0-9]|$)")
    message(FATAL_ERROR "handlers/${name}/update.sql: the statement never uses $1, the key (event.data.new.${conf_key})")
  endif()
  if(sql MATCHES "\\$[2-9]")
    message(FATAL_ERROR "handlers/${name}/update.sql: a SQL-only handler's statements take one parameter, $1 (the key); $2 and beyond have no value")
  endif()
  # Every identifier written into SQL is quoted: `key = user` must name the column, not current_user.
  string(REPLACE "." "\\\".\\\"" q_table "\\\"${conf_table}\\\"")
  set(q_key "\\\"${conf_key}\\\"")
  set(VZ_NAME ${name})
  set(VZ_KEY ${conf_key})
  set(VZ_TABLE ${conf_table})
  set(VZ_VALUE ${conf_value})
  if(EXISTS ${dir}/lock.sql)
    set(VZ_LOCK_FROM "lock.sql")
    set(VZ_LOCK_SOURCE "handlers/${name}/lock.sql")
    set(VZ_LOCK_INCLUDE "#include \"handlers/${name}/lock_sql.h\"\n")
  elseif(conf_lock STREQUAL "row")
    set(VZ_LOCK_FROM "the generated row lock")
    set(VZ_LOCK_SOURCE "the row lock of handlers/${name}/handler.conf (table, key)")
    set(VZ_LOCK_INCLUDE "\n/* No lock.sql: lock the row by its key (handler.conf: table, key). */\nstatic const char lock_sql[] = \"SELECT ${q_key} FROM ${q_table} WHERE ${q_key} = $1 FOR UPDATE\";\n")
  else()
    set(VZ_LOCK_FROM "no lock (lock = none)")
    set(VZ_LOCK_INCLUDE "")
  endif()
  if(conf_lock STREQUAL "none")
    set(VZ_LOCK_STMT "")
    set(VZ_LOCK_REF "NULL")
  else()
    set(VZ_LOCK_STMT "static vz_db_stmt lock_stmt = {\"${VZ_LOCK_SOURCE}\", lock_sql, 1, 0};\n")
    set(VZ_LOCK_REF "&lock_stmt")
  endif()
  set(out ${CMAKE_BINARY_DIR}/generated/handlers/${name}/handler_gen.c)
  configure_file(${CMAKE_SOURCE_DIR}/cmake/sql_handler.c.in ${out} @ONLY)
  set(${out_var} ${out} PARENT_SCOPE)
endfunction()

# Also re-run when a folder gains or loses what makes it a handler.
file(GLOB VZ_HANDLER_MARKERS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/handlers/*/handler.c
     ${CMAKE_SOURCE_DIR}/handlers/*/update.sql ${CMAKE_SOURCE_DIR}/handlers/*/lock.sql
     ${CMAKE_SOURCE_DIR}/handlers/*/handler.conf)

# The folders, as deploy/handlerconf.py reads them: the one reader of handler.conf, shared with
# deploy/render and the role and Hasura generators, so that the build and the deployment cannot
# read a file two ways (cmake's file(STRINGS) cut lines at bytes of a UTF-8 comment).  Its
# refusal (name limits, unknown keys, upper-case names, ...) is the configuration's error.
find_program(VZ_PYTHON3 python3 REQUIRED)
set(VZ_HANDLERCONF ${CMAKE_SOURCE_DIR}/deploy/handlerconf.py)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${VZ_HANDLERCONF})
foreach(marker ${VZ_HANDLER_MARKERS})
  if(marker MATCHES "/handler.conf$")
    set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${marker})
  endif()
endforeach()
execute_process(COMMAND ${VZ_PYTHON3} ${VZ_HANDLERCONF} json --root ${CMAKE_SOURCE_DIR}
                RESULT_VARIABLE conf_rc OUTPUT_VARIABLE VZ_HANDLERS_JSON ERROR_VARIABLE conf_err)
if(NOT conf_rc EQUAL 0)
  string(STRIP "${conf_err}" conf_err)
  message(FATAL_ERROR "${conf_err}\n(read by deploy/handlerconf.py; docs/handlers.md, \"handler.conf\")")
endif()
string(JSON VZ_HANDLER_COUNT LENGTH "${VZ_HANDLERS_JSON}")

add_library(vzhandlers OBJECT)
target_link_libraries(vzhandlers PUBLIC vzcore)

set(VZ_HANDLER_NAMES "")
set(VZ_SQL_HANDLER_NAMES "")
set(VZ_REGISTRY_DECLS "")
set(VZ_REGISTRY_ENTRIES "")
math(EXPR last "${VZ_HANDLER_COUNT} - 1")
foreach(i RANGE ${last})
  string(JSON folder GET "${VZ_HANDLERS_JSON}" ${i})
  string(JSON name GET "${folder}" name)
  string(JSON kind GET "${folder}" kind)
  set(dir ${CMAKE_SOURCE_DIR}/handlers/${name})
  if(kind STREQUAL "c")
    file(GLOB sources CONFIGURE_DEPENDS ${dir}/*.c)
  else()
    vz_sql_handler(${name} ${dir} "${folder}" sources)
    list(APPEND VZ_SQL_HANDLER_NAMES ${name})
  endif()
  target_sources(vzhandlers PRIVATE ${sources})
  file(GLOB sql_files CONFIGURE_DEPENDS ${dir}/*.sql)
  foreach(sql ${sql_files})
    vz_embed_sql(${name} ${sql})
  endforeach()
  if(EXISTS ${dir}/handler.deps)
    set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${dir}/handler.deps)
    file(STRINGS ${dir}/handler.deps dep_lines REGEX "^[ \t]*[^# \t]")
    foreach(line ${dep_lines})
      string(REGEX REPLACE "^[ \t]*([^ \t]+).*$" "\\1" module "${line}")
      string(MAKE_C_IDENTIFIER "VZDEP_${module}" var)
      pkg_check_modules(${var} REQUIRED IMPORTED_TARGET ${module})
      target_link_libraries(vzhandlers PUBLIC PkgConfig::${var})
      message(STATUS "handler ${name}: links ${module}")
    endforeach()
  endif()
  list(APPEND VZ_HANDLER_NAMES ${name})
  string(APPEND VZ_REGISTRY_DECLS "extern const vz_handler vz_handler_${name};\n")
  string(APPEND VZ_REGISTRY_ENTRIES "    &vz_handler_${name},\n")
endforeach()

set(VZ_REGISTRY_C ${CMAKE_BINARY_DIR}/generated/registry_gen.c)
set(content "/* registry_gen.c -- generated by cmake/handlers.cmake from the handlers folders; do not edit. */\n#include \"vz/handler.h\"\n\n${VZ_REGISTRY_DECLS}\nconst vz_handler *const vz_registry_table[];\nconst vz_handler *const vz_registry_table[] = {\n${VZ_REGISTRY_ENTRIES}    0,\n};\n")
file(CONFIGURE OUTPUT ${VZ_REGISTRY_C} CONTENT "${content}")
target_sources(vzhandlers PRIVATE ${VZ_REGISTRY_C})
message(STATUS "handlers: ${VZ_HANDLER_NAMES} (SQL-only: ${VZ_SQL_HANDLER_NAMES})")
