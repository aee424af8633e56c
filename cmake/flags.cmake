# Warnings, hardening and sanitizers for every target of the project.
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
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()
