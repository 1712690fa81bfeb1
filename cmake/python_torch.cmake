# The Python whose torch is this LibTorch, for the op library (src/ops) and the Python package
# (python/torchinit). Upstream LibTorch from a wheel: the venv's python next to it; else Debian's
# /usr/bin/python3 (python3-torch links Debian's LibTorch). Sets TORCHINIT_PYTHON_OPS (ON when
# that Python's torch has this LibTorch's version) and TORCHINIT_PYTHON_PYTEST.
if(TORCH_INSTALL_PREFIX MATCHES "^(.*)/lib/python3[.0-9]*/site-packages/torch$")
  set(_python_default ${CMAKE_MATCH_1}/bin/python)
else()
  set(_python_default /usr/bin/python3)
endif()
set(TORCHINIT_PYTHON ${_python_default} CACHE FILEPATH "Python interpreter for the op library and its tests")
option(TORCHINIT_BUILD_PYTHON "Build the op library for Python's torch (on when found)" ON)

set(TORCHINIT_PYTHON_OPS OFF)
set(TORCHINIT_PYTHON_PYTEST OFF)
if(TORCHINIT_BUILD_PYTHON)
  execute_process(COMMAND ${TORCHINIT_PYTHON} -c "import torch; print(torch.__version__)"
    OUTPUT_VARIABLE _python_torch OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET
    RESULT_VARIABLE _python_rc)
  string(REGEX MATCH "^[0-9]+\\.[0-9]+" _python_torch_minor "${_python_torch}")
  string(REGEX MATCH "^[0-9]+\\.[0-9]+" _libtorch_minor "${Torch_VERSION}")
  if(NOT _python_rc EQUAL 0)
    message(STATUS "torchinit: Python op library off: ${TORCHINIT_PYTHON} cannot import torch "
      "(Debian: apt-get install python3-torch; or -DTORCHINIT_PYTHON=<python with torch>)")
  elseif(NOT _python_torch_minor STREQUAL _libtorch_minor)
    message(STATUS "torchinit: Python op library off: ${TORCHINIT_PYTHON} has torch "
      "${_python_torch}, this build uses LibTorch ${Torch_VERSION}")
  else()
    set(TORCHINIT_PYTHON_OPS ON)
    execute_process(COMMAND ${TORCHINIT_PYTHON} -c "import pytest, numpy" RESULT_VARIABLE _pytest_rc
      OUTPUT_QUIET ERROR_QUIET)
    if(_pytest_rc EQUAL 0)
      set(TORCHINIT_PYTHON_PYTEST ON)
    endif()
    message(STATUS "torchinit: Python op library for torch ${_python_torch} (${TORCHINIT_PYTHON})")
  endif()
endif()
