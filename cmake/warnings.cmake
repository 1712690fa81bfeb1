# Warnings for torchinit's own targets; TORCHINIT_WERROR turns them into errors (CI).
function(torchinit_warnings target)
  if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
    target_compile_options(${target} PRIVATE -Wall -Wextra $<$<BOOL:${TORCHINIT_WERROR}>:-Werror>)
  endif()
  # GCC 12 in C++20 mode (LibTorch 2.x asks for it) warns -Wrestrict inside libstdc++'s
  # std::string operator+ (GCC bug 105651, fixed in GCC 13): a false positive, not ours.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13
     AND TORCHINIT_TORCH_CXX20)
    target_compile_options(${target} PRIVATE -Wno-restrict)
  endif()
endfunction()
