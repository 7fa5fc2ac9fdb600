#!/usr/bin/env bash
# For the lent GPU machine, which has CUDA and CMake but none of our Debian packages: download toyformer's -dev
# packages (and the shared libraries they point to) as .debs here and unpack them into .deps/ (git-ignored), so
# the `device` tool can carry .deps along with the tree. Then, on the device:
#   PKG_CONFIG_SYSROOT_DIR=$PWD/.deps PKG_CONFIG_PATH=$PWD/.deps/usr/lib/x86_64-linux-gnu/pkgconfig \
#   LD_LIBRARY_PATH=$PWD/.deps/usr/lib/x86_64-linux-gnu \
#   cmake -S . -B build-gpu -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES=90 -DCMAKE_PREFIX_PATH=$PWD/.deps/usr
#   cmake --build build-gpu -j 16 && TOYFORMER_REQUIRE_GPU=1 LD_LIBRARY_PATH=$PWD/.deps/usr/lib/x86_64-linux-gnu \
#   ctest --test-dir build-gpu        # REQUIRE_GPU: a GPU the tests cannot use fails them instead of skipping them
# Then `build-gpu/apps/toyformer bench --device cuda` beside `python3 tests/reference/bench_toy.py --device cuda`,
# `bench --large --device cuda` beside `tests/reference/bench_attention.py --device cuda`, `sweep --device cuda`.
# (Building on the device links against its own CUDA toolkit, whatever its version.) All of the above in one command,
# with a time limit per step and one table of results: `bash scripts/gpu_check.sh OUTDIR`.
set -euo pipefail
cd "$(dirname "$0")/.."
PKGS=(libeigen3-dev doctest-dev libcli11-dev nlohmann-json3-dev
      libspdlog-dev libspdlog1.10 libfmt-dev libfmt9 libzip-dev libzip4)
rm -rf .deps && mkdir -p .deps/debs
(cd .deps/debs && apt-get download "${PKGS[@]}" >/dev/null)
for deb in .deps/debs/*.deb; do dpkg -x "$deb" .deps; done
rm -rf .deps/debs .deps/usr/share/doc .deps/usr/share/man
du -sh .deps
