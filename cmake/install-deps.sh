#!/usr/bin/env bash
# Installs the Debian packages torchinit needs that are missing; does nothing when all are there.
# With TORCH=upstream, also PyPI's torch==$TORCH_VERSION into the virtual environment $VENV
# (a CUDA build of several GB; torchinit uses its LibTorch on the CPU).
set -euo pipefail
TORCH=${TORCH:-debian}

packages=(cmake g++ make ccache libtorch-dev libfmt-dev libgtest-dev libgmock-dev librandom123-dev
  libboost-math-dev libcli11-dev nlohmann-json3-dev libbenchmark-dev libopenblas0-pthread)
# Fashion-MNIST IDX files for `torchinit demo --train` (/usr/share/datasets/fashion-mnist).
packages+=(dataset-fashion-mnist)
packages+=(libgloo-dev)  # Gloo headers for torch's c10d ProcessGroupGloo (distributed layer)
packages+=(clang libclang-rt-14-dev libomp-14-dev)  # make asan, make fuzz: clang-14, its sanitizers, libFuzzer, OpenMP
packages+=(python3-venv)  # TORCH=upstream: the virtual environment for PyPI's torch
# The op library's Python side: Debian's torch (it links Debian's LibTorch) and the test tools.
packages+=(python3-torch python3-pytest python3-numpy python3-scipy)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if [ "$TORCH" = upstream ]; then
  : "${TORCH_VERSION:?TORCH=upstream needs TORCH_VERSION}" "${VENV:?TORCH=upstream needs VENV}"
  # A plain venv: /usr/bin/python3's site-packages hold Debian's torch 1.13.
  if ! "$VENV/bin/python" -c "import sys, torch; sys.exit(torch.__version__.split('+')[0] != '$TORCH_VERSION')" 2>/dev/null; then
    echo "install-deps: installing torch==$TORCH_VERSION from PyPI into $VENV (several GB, a few minutes)"
    /usr/bin/python3 -m venv "$VENV"
    "$VENV/bin/pip" install --no-cache-dir --disable-pip-version-check --progress-bar off "torch==$TORCH_VERSION"
  fi
  # The Python tests of the op library.
  if ! "$VENV/bin/python" -c "import pytest, numpy" 2>/dev/null; then
    echo "install-deps: installing pytest and numpy into $VENV"
    "$VENV/bin/pip" install --no-cache-dir --disable-pip-version-check --progress-bar off pytest numpy
  fi
fi
