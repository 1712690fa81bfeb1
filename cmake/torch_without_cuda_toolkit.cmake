# Include before find_package(Torch) (or pass -DCMAKE_PROJECT_INCLUDE=<this file>) to use a CUDA
# build of LibTorch -- the libtorch inside PyPI's `torch` wheel -- on a machine without a CUDA
# toolkit, as a CPU library. LibTorch's public/cuda.cmake returns early when torch::cudart exists;
# without it, configure fails ("uses CUDA but I cannot find the CUDA libraries") or, with a
# toolkit, links the toolkit's libcudart instead of the wheel's. libtorch_cuda still finds the
# wheel's libcudart through its own RPATH. A no-op for CPU-only LibTorch (Debian's).
if(NOT TARGET torch::cudart)
  add_library(torch::cudart INTERFACE IMPORTED)
endif()
