#!/usr/bin/env bash
# CTest for scripts/gpu_check.sh, without a GPU: the dry run writes the table with every step planned and builds and
# runs nothing; a run whose first step fails records it, skips what depends on it with the reason, still writes the
# table and exits 1; a bad command line exits 2.  Usage: gpu_check_test.sh SOURCE_DIR WORK_DIR
set -euo pipefail
src=$1
work=$2
rm -rf "$work"
mkdir -p "$work"
script=$src/scripts/gpu_check.sh
steps=(configure build devices bench-cuda bench-cuda-eager bench-cuda-step-graph train-cuda train-cpu train-compare
       bench-large-cuda sweep-cuda ctest sweep-cpu sweep-compare torch-bench-toy torch-bench-attention)
fail() {
  echo "gpu_check_test: $*" >&2
  exit 1
}

# The plan.
GPU_CHECK_BUILD_DIR=$work/never-built bash "$script" --dry-run "$work/dry" >"$work/dry.out" || fail "dry run exited $?"
table=$work/dry/gpu_check.md
[[ -f $table ]] || fail "no $table"
grep -q '^| step | command | result | seconds | status |$' "$table" || fail "no table header in $table"
for s in "${steps[@]}"; do
  grep -Eq "^\| $s \| \`[^\`]+\` \| [^|]+ \|  \| planned \|$" "$table" || fail "no planned row for '$s' in $table"
done
rows=$(grep -c '^| [a-z]' "$table")
((rows == ${#steps[@]} + 1)) || fail "$table has $rows rows, expected ${#steps[@]} steps and the header"
grep -q 'bench --device cuda --steps 20000 --json' "$table" || fail "the plan does not show the CUDA bench command"
grep -q 'TOYFORMER_REQUIRE_GPU=1 ctest' "$table" || fail "the plan does not run ctest with TOYFORMER_REQUIRE_GPU=1"
[[ ! -e $work/never-built ]] || fail "the dry run created the build directory"
[[ -z $(ls "$work/dry/logs") ]] || fail "the dry run wrote logs"

# A failing first step: configure with a toolchain file that does not exist (fails at once).
rc=0
GPU_CHECK_BUILD_DIR=$work/bad-build GPU_CHECK_CMAKE_ARGS=-DCMAKE_TOOLCHAIN_FILE=$work/no-such-toolchain.cmake \
  GPU_CHECK_PYTHON=$work/no-such-python bash "$script" "$work/fail" >"$work/fail.out" 2>&1 || rc=$?
((rc == 1)) || fail "a run with a failed step exited $rc, expected 1"
table=$work/fail/gpu_check.md
[[ -f $table ]] || fail "no $table after a failed step"
grep -Eq '^\| configure \| .* \| exit [0-9]+: .* \| [0-9.]+ \| failed \|$' "$table" || fail "configure is not failed"
[[ -s $work/fail/logs/configure.log ]] || fail "no configure log"
grep -Eq "^\| build \| .* \| not run: step 'configure' failed \| 0 \| skipped \|$" "$table" || fail "build not skipped"
grep -Eq "^\| train-cpu \| .* \| not run: step 'build' skipped \| 0 \| skipped \|$" "$table" || fail "train-cpu not skipped"
grep -Eq "^\| torch-bench-toy \| .* \| not run: .*cannot import torch \| 0 \| skipped \|$" "$table" ||
  fail "torch-bench-toy not skipped for want of torch"
for s in "${steps[@]}"; do grep -q "^| $s | " "$table" || fail "no row for '$s' after a failed step"; done
grep -q '1 step(s) failed' "$table" || fail "the table does not count the failed step"

# Bad command lines.
rc=0
bash "$script" >/dev/null 2>&1 || rc=$?
((rc == 2)) || fail "no OUTDIR exited $rc, expected 2"
rc=0
bash "$script" --dry-run a b >/dev/null 2>&1 || rc=$?
((rc == 2)) || fail "two OUTDIRs exited $rc, expected 2"
echo "gpu_check_test: ok"
