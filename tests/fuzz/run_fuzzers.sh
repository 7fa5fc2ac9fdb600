#!/usr/bin/env bash
# Build the libFuzzer targets (clang, ASan + UBSan, into build-fuzz) and run each for SECONDS (default 20) on a copy
# of its seed corpus (tests/fuzz/corpus/<target>/). Any finding (a crash, a sanitizer report, an exception other
# than toy::Error, a timeout, running out of memory) fails the target; its reproducer is kept in build-fuzz/findings/
# (rerun it with: build-fuzz/tests/fuzz/fuzz_<target> FILE). Ends with "fuzz: N passed, N failed".
#   tests/fuzz/run_fuzzers.sh [SECONDS] [TARGET...]
# Needs clang and libFuzzer (Debian: apt-get install clang libfuzzer-14-dev).
set -uo pipefail
cd "$(dirname "$0")/../.."
SECONDS_EACH="${1:-20}"
shift || true
TARGETS=("$@")
if [ ${#TARGETS[@]} -eq 0 ]; then TARGETS=(npz dump checkpoint attend word2vec corpus run_json sweep); fi
BUILD_DIR="${FUZZ_BUILD_DIR:-build-fuzz}"
CXX_BIN="${FUZZ_CXX:-clang++}"
LAUNCHER=()
if command -v ccache >/dev/null; then LAUNCHER=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi

echo "fuzz: building into $BUILD_DIR with $CXX_BIN (log: $BUILD_DIR/fuzz_build.log)"
# -O1 with line tables: quick to build, fast enough to fuzz, and stack traces that name the line.
if ! cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER="$CXX_BIN" \
      -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only" \
      -DTOYFORMER_WITH_CUDA=OFF -DTOYFORMER_WITH_PYTHON=OFF -DTOYFORMER_FUZZ=ON -DTOYFORMER_BUILD_TESTS=OFF "${LAUNCHER[@]}" >/dev/null ||
   ! cmake --build "$BUILD_DIR" --target fuzz_all --parallel "$(nproc)" >"$BUILD_DIR/fuzz_build.log" 2>&1; then
  tail -40 "$BUILD_DIR/fuzz_build.log" 2>/dev/null
  echo "fuzz: the fuzz targets did not build (log: $BUILD_DIR/fuzz_build.log)"
  echo "fuzz: 0 passed, ${#TARGETS[@]} failed"
  exit 1
fi

passed=0
failed=0
failed_names=()
mkdir -p "$BUILD_DIR/findings"
for t in "${TARGETS[@]}"; do
  bin="$BUILD_DIR/tests/fuzz/fuzz_$t"
  seeds="tests/fuzz/corpus/$t"
  work="$BUILD_DIR/corpus/$t"  # new inputs go here, never into the repository's seeds
  log="$BUILD_DIR/fuzz_$t.log"
  rm -rf "$work"
  mkdir -p "$work"
  # Known findings left from an earlier run would be replayed as seeds; start from the repository's seeds only.
  rm -f "$BUILD_DIR/findings/$t-"*
  ASAN_OPTIONS="detect_leaks=1:allocator_may_return_null=0" UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
    "$bin" "$work" "$seeds" -max_total_time="$SECONDS_EACH" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$BUILD_DIR/findings/$t-" >"$log" 2>&1
  rc=$?
  execs="$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | tail -1 | grep -o '[0-9]*$')"
  if [ "$rc" -eq 0 ] && [ -n "$execs" ]; then
    passed=$((passed + 1))
    echo "fuzz: $t passed: ${execs} executions in ${SECONDS_EACH} s"
  else
    failed=$((failed + 1))
    failed_names+=("$t")
    echo "fuzz: $t FAILED (exit $rc, ${execs:-?} executions); the end of $log:"
    grep -E "ERROR: |SUMMARY: |runtime error|terminate called|what\(\)|Test unit written" "$log" | head -20
    tail -5 "$log"
  fi
done
if [ "$failed" -gt 0 ]; then echo "fuzz: failed targets: ${failed_names[*]} (reproducers in $BUILD_DIR/findings/)"; fi
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
