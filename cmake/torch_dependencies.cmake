# LibTorch and the dependencies whose choice depends on it. Works with Debian's libtorch-dev 1.13
# and with upstream PyTorch 2.x's LibTorch (the `torch` wheel: pass
# -DCMAKE_PREFIX_PATH=$(python -c 'import torch; print(torch.utils.cmake_prefix_path)')).
# Sets TORCHINIT_FMT_LIB (the fmt target to link, empty when fmt is header-only) and
# TORCHINIT_TORCH_CXX20 (LibTorch makes its users C++20).

# torchinit is a CPU library: a CUDA build of LibTorch is used without the CUDA toolkit
# unless asked for.
option(TORCHINIT_TORCH_CUDA_TOOLKIT "Let LibTorch's CMake config look for the CUDA toolkit" OFF)
if(NOT TORCHINIT_TORCH_CUDA_TOOLKIT)
  include(${CMAKE_CURRENT_LIST_DIR}/torch_without_cuda_toolkit.cmake)
endif()
find_package(Torch REQUIRED)

# Debian's fmt, GoogleTest, benchmark and CLI11 use the C++11 std::string ABI; a LibTorch built
# with the old one (PyPI torch <= 2.6, the pre-cxx11 libtorch zips) cannot link with them.
if(TORCH_CXX_FLAGS MATCHES "_GLIBCXX_USE_CXX11_ABI=0")
  message(FATAL_ERROR "torchinit: LibTorch ${Torch_VERSION} at ${TORCH_INSTALL_PREFIX} uses the "
    "pre-C++11 std::string ABI (_GLIBCXX_USE_CXX11_ABI=0); the system's fmt, GoogleTest and CLI11 "
    "cannot link with it. Use PyPI torch >= 2.7 (manylinux_2_28 wheels), a cxx11-ABI libtorch "
    "zip, or Debian's libtorch-dev.")
endif()

# Upstream LibTorch ships its own fmt headers (fmt 10+) in an include folder searched before the
# system's, so the system's compiled libfmt (Debian: 9) would not match them: use those headers
# header-only. Debian's LibTorch lives in /usr, whose fmt headers are libfmt-dev's.
set(_torch_include ${TORCH_INSTALL_PREFIX}/include)
if(EXISTS ${_torch_include}/fmt/format.h
   AND NOT _torch_include IN_LIST CMAKE_CXX_IMPLICIT_INCLUDE_DIRECTORIES
   AND NOT TORCH_INSTALL_PREFIX STREQUAL "/usr")
  # Directory scope: torchinit's own targets only; no public header uses fmt.
  add_compile_definitions(FMT_HEADER_ONLY)
  set(TORCHINIT_FMT_LIB "")
  set(TORCHINIT_FMT_SHARED OFF)
  set(_fmt_note "fmt header-only from LibTorch")
else()
  find_package(fmt REQUIRED)
  set(TORCHINIT_FMT_LIB fmt::fmt)
  set(TORCHINIT_FMT_SHARED ON)
  set(_fmt_note "fmt ${fmt_VERSION}")
endif()

# LibTorch 2.x compiles its users as C++20 (torchinit needs C++17).
get_target_property(_torch_features torch INTERFACE_COMPILE_FEATURES)
if(_torch_features AND "cxx_std_20" IN_LIST _torch_features)
  set(TORCHINIT_TORCH_CXX20 ON)
else()
  set(TORCHINIT_TORCH_CXX20 OFF)
endif()

# LibTorch's OpenMP runtime: the wheel bundles its own libgomp (2.7: libgomp-<hash>.so.1) and
# loads it through its RUNPATH; link the same one, so that one OpenMP runtime serves the process
# and no executable needs a GOMP symbol version the wheel's lacks.
file(GLOB _torch_gomp ${TORCH_INSTALL_PREFIX}/lib/libgomp*.so.1)
if(_torch_gomp AND NOT DEFINED OpenMP_gomp_LIBRARY)
  list(GET _torch_gomp 0 _torch_gomp)
  set(OpenMP_gomp_LIBRARY ${_torch_gomp} CACHE FILEPATH "libgomp (LibTorch's own)")
endif()
message(STATUS "torchinit: LibTorch ${Torch_VERSION} (${TORCH_INSTALL_PREFIX}), ${_fmt_note}")
