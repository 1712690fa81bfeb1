# cmake -DBUILD_DIR=<build folder> -DTORCH_INCLUDE=<LibTorch's include folder> -P <this file>
# Built against an upstream LibTorch, every torch/ATen/c10/caffe2 header must come from that
# LibTorch. Debian's libtorch-dev headers sit in /usr/include, behind it in the search order: a
# header that upstream dropped or renamed would otherwise be taken from 1.13 without a word.
# Reads the compiler's dependency files (*.o.d).
file(GLOB_RECURSE depfiles ${BUILD_DIR}/*.o.d)
list(LENGTH depfiles count)
if(count EQUAL 0)
  message(FATAL_ERROR "no dependency files (*.o.d) under ${BUILD_DIR}: build first")
endif()
set(mixed "")
set(from_torch 0)
foreach(depfile IN LISTS depfiles)
  file(READ ${depfile} deps)
  if(deps MATCHES "/usr/include/(torch|ATen|c10|caffe2)/[^ \\\n]*")
    list(APPEND mixed "${depfile}: ${CMAKE_MATCH_0}")
  endif()
  string(FIND "${deps}" "${TORCH_INCLUDE}/ATen/" at)
  if(NOT at EQUAL -1)
    math(EXPR from_torch "${from_torch} + 1")
  endif()
endforeach()
if(mixed)
  list(JOIN mixed "\n  " lines)
  message(FATAL_ERROR "LibTorch headers from /usr/include (Debian's 1.13) in a build against "
    "${TORCH_INCLUDE}:\n  ${lines}\nInclude only headers that this LibTorch ships.")
endif()
if(from_torch EQUAL 0)
  message(FATAL_ERROR "no object includes ATen headers from ${TORCH_INCLUDE}: wrong TORCH_INCLUDE?")
endif()
message(STATUS "${from_torch} of ${count} objects include ${TORCH_INCLUDE}'s ATen headers, none "
  "Debian's")
