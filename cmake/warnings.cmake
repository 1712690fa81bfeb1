# Warnings for torchinit's own targets; TORCHINIT_WERROR turns them into errors (CI).
function(torchinit_warnings target)
  if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
    target_compile_options(${target} PRIVATE -Wall -Wextra $<$<BOOL:${TORCHINIT_WERROR}>:-Werror>)
  endif()
endfunction()
