# A stand-in for a LibTorch built with the pre-C++11 std::string ABI (PyPI torch <= 2.6, the
# pre-cxx11 libtorch zips): what torchinit's configure reads before it must stop.
set(TORCH_CXX_FLAGS "-D_GLIBCXX_USE_CXX11_ABI=0")
set(TORCH_INSTALL_PREFIX "${CMAKE_CURRENT_LIST_DIR}")
set(TORCH_FOUND TRUE)
if(NOT TARGET torch)
  add_library(torch INTERFACE IMPORTED)
endif()
