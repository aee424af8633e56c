# Warnings, hardening and sanitizers for every target of the project.
# Fuzzing (scripts/fuzz): libFuzzer coverage on every object, sanitizers on.
if(VZ_FUZZ)
  if(NOT CMAKE_C_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "VZ_FUZZ needs clang (CC=clang-14): libFuzzer is part of clang")
  endif()
  set(VZ_SANITIZE ON)
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()

add_compile_options(-Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2
                    -Wno-missing-field-initializers)
if(VZ_WERROR)
  add_compile_options(-Werror)
endif()

# Hardening: fortify, stack protector, PIE, full RELRO, no executable stack.
add_compile_options(-fstack-protector-strong -fPIE)
if(NOT VZ_SANITIZE)
  add_compile_definitions($<$<NOT:$<CONFIG:Debug>>:_FORTIFY_SOURCE=2>)
endif()
set(CMAKE_POSITION_INDEPENDENT_CODE ON)
add_link_options(-pie -Wl,-z,relro,-z,now -Wl,-z,noexecstack)

if(VZ_SANITIZE)
  add_compile_options(-fsanitize=address,undefined,float-cast-overflow -fno-omit-frame-pointer -fno-sanitize-recover=undefined,float-cast-overflow)
  add_link_options(-fsanitize=address,undefined,float-cast-overflow)
endif()
