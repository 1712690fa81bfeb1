# Compile time of torchinit's own targets (this directory and below; a parent project's targets
# are untouched). LibTorch's headers and the torch::nn templates they instantiate dominate every
# translation unit, so:
#
# - Unity batches compile a few sources together and pay for those headers once per batch. Each
#   file still compiles alone (-DTORCHINIT_UNITY=OFF). Sources with flags of their own (the ISA
#   kernels, c10d) stay separate, as CMake never batches them.
# - GCC collects its garbage when its heap grows by ggc-min-expand percent over
#   ggc-min-heapsize; a LibTorch batch reaches ~2 GB, and collecting late saved about a tenth of
#   its compile time (56.9 s -> 51.9 s) for 0.4 GB more memory (peak 1.9 GB per job).
option(TORCHINIT_UNITY "Compile torchinit's own targets in unity batches" ON)
if(TORCHINIT_UNITY)
  set(CMAKE_UNITY_BUILD ON)
  set(CMAKE_UNITY_BUILD_BATCH_SIZE 8)
endif()
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  add_compile_options(--param=ggc-min-expand=400 --param=ggc-min-heapsize=2097152)
endif()
