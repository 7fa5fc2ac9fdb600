#!/usr/bin/env bash
# Installs toyformer's build and test dependencies from Debian's packages (bookworm).
# The CUDA toolkit is optional and not installed here: when nvcc is at /usr/local/cuda the build picks it up.
# The Python packages build the `toyformer` Python module (pybind11) and run its tests and the course notebook.
set -euo pipefail
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends \
  cmake ninja-build g++ pkg-config \
  libeigen3-dev libopenblas-dev libspdlog-dev libfmt-dev doctest-dev libcli11-dev nlohmann-json3-dev libzip-dev \
  pybind11-dev python3-dev python3-numpy python3-pandas python3-pytest python3-nbconvert python3-ipykernel \
  >/dev/null
echo "toyformer: dependencies installed"
