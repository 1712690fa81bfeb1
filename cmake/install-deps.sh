#!/usr/bin/env bash
# Installs the Debian packages torchinit needs that are missing; does nothing when all are there.
set -euo pipefail

packages=(cmake g++ make ccache libtorch-dev libfmt-dev libgtest-dev libgmock-dev librandom123-dev
  libboost-math-dev libcli11-dev nlohmann-json3-dev libbenchmark-dev libopenblas0-pthread)
# Fashion-MNIST IDX files for `torchinit demo --train` (/usr/share/datasets/fashion-mnist).
packages+=(dataset-fashion-mnist)
packages+=(libgloo-dev)  # Gloo headers for torch's c10d ProcessGroupGloo (distributed layer)
packages+=(clang libclang-rt-14-dev)  # make fuzz: clang-14 with libFuzzer and its sanitizers

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}"
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
