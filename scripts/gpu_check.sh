#!/usr/bin/env bash
# The one prepared command for a lent GPU machine (CUDA, CMake and PyTorch there, none of our Debian packages: carry
# .deps from scripts/device_deps.sh along). From the repository root:
#
#   bash scripts/gpu_check.sh OUTDIR            # build for sm_90, GPU tests, benchmarks, train, sweep: ~5-8 minutes
#   bash scripts/gpu_check.sh --dry-run OUTDIR  # the plan only: the same table with every step "planned"
#
# Steps, each under its own `timeout` and the whole run under a time budget (GPU_CHECK_BUDGET, default 450 s):
# configure + build (ninja if present, else make), `toyformer devices`, `bench --device cuda` (fused step replayed as a
# CUDA graph; --no-cuda-graph: eager launches; --step graph: the op-by-op path), the notebook's 5020-epoch
# `train --seed 2` on cuda and on cpu (final loss, verdict, wall time), `sweep --H 10,20,40 --seeds 100` on cuda and on
# cpu (wall time, the outcome table, and whether runs.csv's outcomes agree), `bench --large --device cuda` beside
# PyTorch's tests/reference/bench_toy.py and bench_attention.py on cuda (when python3 can import torch), and ctest with
# TOYFORMER_REQUIRE_GPU=1 (a GPU test fails instead of skipping when the GPU is unusable).
# A failing step is recorded and the next one runs; steps that need what failed say so and are skipped.
# Writes OUTDIR/gpu_check.md (one table: step, command, result, seconds, status) and OUTDIR/logs/<step>.log; exits 1
# when a step failed (status "failed"), else 0. Status "warn": a difference worth a look that is not a failure (GPU and
# CPU runs need not agree bit for bit: FMA contraction).
#
# Settings (environment): GPU_CHECK_BUILD_DIR (default build-gpu), GPU_CHECK_JOBS (16), GPU_CHECK_BUDGET (450 s, for
# the whole run), GPU_CHECK_ARCH (90), GPU_CHECK_BENCH_STEPS (20000 timed steps per H and mode),
# GPU_CHECK_SEEDS (100 per H), GPU_CHECK_PYTHON (python3), GPU_CHECK_CMAKE_ARGS (extra configure arguments, e.g. a
# compiler launcher). With .deps/usr present the configure and every run use it as scripts/device_deps.sh says
# (PKG_CONFIG_SYSROOT_DIR, PKG_CONFIG_PATH, LD_LIBRARY_PATH, -DCMAKE_PREFIX_PATH).
set -uo pipefail  # no -e: a failed step is recorded, not fatal

usage() { echo "usage: bash scripts/gpu_check.sh [--dry-run] OUTDIR" >&2; }
DRY=0
if [[ ${1:-} == --dry-run ]]; then
  DRY=1
  shift
fi
if [[ $# -ne 1 || -z $1 || $1 == -* ]]; then
  usage
  exit 2
fi
cd "$(dirname "$0")/.." || exit 2
ROOT=$PWD
mkdir -p "$1/logs" || exit 2
OUT=$(cd "$1" && pwd)
LOGS=$OUT/logs
rm -f "$LOGS"/*.log

BUILD=${GPU_CHECK_BUILD_DIR:-build-gpu}
[[ $BUILD == /* ]] || BUILD=$ROOT/$BUILD
JOBS=${GPU_CHECK_JOBS:-16}
BUDGET=${GPU_CHECK_BUDGET:-450}
ARCH=${GPU_CHECK_ARCH:-90}
STEPS=${GPU_CHECK_BENCH_STEPS:-20000}
SEEDS=${GPU_CHECK_SEEDS:-100}
PY=${GPU_CHECK_PYTHON:-python3}
read -r -a EXTRA_CMAKE <<<"${GPU_CHECK_CMAKE_ARGS:-}"
BIN=$BUILD/apps/toyformer

CMAKE_ARGS=(-S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES="$ARCH"
            -DTOYFORMER_WITH_PYTHON=OFF)
if [[ -d $ROOT/.deps/usr ]]; then  # scripts/device_deps.sh's environment
  export PKG_CONFIG_SYSROOT_DIR=$ROOT/.deps
  export PKG_CONFIG_PATH=$ROOT/.deps/usr/lib/x86_64-linux-gnu/pkgconfig
  export LD_LIBRARY_PATH=$ROOT/.deps/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  CMAKE_ARGS+=(-DCMAKE_PREFIX_PATH="$ROOT/.deps/usr")
fi
if [[ ! -f $BUILD/CMakeCache.txt ]] && command -v ninja >/dev/null 2>&1; then
  CMAKE_ARGS+=(-G Ninja)  # an existing build directory keeps its generator
fi
CMAKE_ARGS+=("${EXTRA_CMAKE[@]}")

T0=$(date +%s.%N)
elapsed() { awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN { printf "%d", b - a }'; }
have_python() { command -v "$PY" >/dev/null 2>&1; }
# A word list as one shell-quoted line, relative to the repository root (for the table and for bash -c).
quote() {
  local out="" w
  for w in "$@"; do
    if [[ $w =~ ^[A-Za-z0-9_./=,:+@%-]+$ ]]; then out+="${out:+ }$w"; else out+="${out:+ }$(printf '%q' "$w")"; fi
  done
  printf '%s' "$out"
}
shown() {
  local s=${1//$ROOT\//}
  printf '%s' "${s//$ROOT/.}"
}
md_cell() { local s=${1//|/\\|}; s=${s//$'\n'/ }; printf '%s' "$s"; }

ROWS=()
FAILED=0
declare -A STATUS_OF REASON_OF  # REASON_OF: why a prerequisite that is not a step is missing
record() {  # name command result seconds status
  STATUS_OF[$1]=$5
  [[ $5 == failed ]] && FAILED=$((FAILED + 1))
  ROWS+=("| $1 | \`$(md_cell "$(shown "$2")")\` | $(md_cell "$3") | $4 | $5 |")
  printf 'gpu_check: %-22s %-7s %7s  %s\n' "$1" "$5" "${4:+${4}s}" "$3"
}

# What went wrong, from a log: the first CMake error (with its message line) or compiler/program error, else the last
# line that sounds like a failure, else the last line.
why() {
  local l
  l=$(grep -m1 -A1 '^CMake Error' "$1" 2>/dev/null | sed 's/^ *//' | paste -sd ' ' -)
  [[ -n $l ]] || l=$(grep -m1 -E 'error:|Error:|error [0-9]+' "$1" 2>/dev/null)
  [[ -n $l ]] || l=$(grep -E -i 'error|fail|refus|not found|no usable|cannot' "$1" 2>/dev/null | tail -n 1)
  [[ -n $l ]] || l=$(grep -v '^[[:space:]]*$' "$1" 2>/dev/null | tail -n 1)
  printf '%.300s' "$l"
}

# step NAME LIMIT PARSER NEEDS -- COMMAND...: run COMMAND (through bash -c, in the repository root) under
# timeout min(LIMIT, what is left of the budget), log to logs/NAME.log, then let PARSER (a function: log file, exit
# code) set RESULT and STATUS. NEEDS: a comma-separated list of earlier steps that must have status ok or warn.
step() {
  local name=$1 limit=$2 parser=$3 needs=$4
  shift 5
  local cmd
  cmd=$(quote "$@")
  if ((DRY)); then
    record "$name" "$cmd" "planned (at most ${limit}s)" "" planned
    return
  fi
  local n
  for n in ${needs//,/ }; do
    # shellcheck disable=SC2016  # the quotes around the step's name are meant literally
    if [[ ${STATUS_OF[$n]:-} != ok && ${STATUS_OF[$n]:-} != warn ]]; then
      record "$name" "$cmd" "not run: ${REASON_OF[$n]:-step '$n' ${STATUS_OF[$n]:-did not run}}" 0 skipped
      return
    fi
  done
  local left=$((BUDGET - $(elapsed)))
  if ((left < 10)); then
    record "$name" "$cmd" "not run: the ${BUDGET}s budget is spent" 0 skipped
    return
  fi
  local t=$((limit < left ? limit : left))
  local log=$LOGS/$name.log s0 rc secs
  s0=$(date +%s.%N)
  timeout -k 5 "$t" bash -c "$cmd" >"$log" 2>&1
  rc=$?
  secs=$(awk -v a="$s0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
  RESULT="" STATUS=ok
  if ((rc == 124 || rc == 137)); then
    RESULT="timed out after ${t}s" STATUS=failed
  elif ((rc != 0)); then
    RESULT="exit $rc: $(why "$log")" STATUS=failed
  fi
  "$parser" "$log" "$rc"
  record "$name" "$cmd" "$RESULT" "$secs" "$STATUS"
}

# ---- parsers: set RESULT (and STATUS) from a step's log; they run after failures too, to add what they can.
p_none() { :; }
p_configure() {
  local cu
  cu=$(grep -o 'The CUDA compiler identification is .*' "$1" | sed 's/The CUDA compiler identification is //' | head -n 1)
  [[ -n $cu ]] || cu=$(grep -ho 'CMAKE_CUDA_COMPILER_VERSION "[^"]*"' "$BUILD"/CMakeFiles/*/CMakeCUDACompiler.cmake \
                       2>/dev/null | head -n 1 | cut -d'"' -f2)
  if grep -q 'toyformer: CUDA backend ON' "$1"; then
    [[ $2 == 0 ]] && RESULT="CUDA backend ON (nvcc: ${cu:-?}, sm_$ARCH, generator: $(grep -o 'CMAKE_GENERATOR:INTERNAL=.*' "$BUILD/CMakeCache.txt" 2>/dev/null | cut -d= -f2))"
  elif [[ $2 == 0 ]]; then
    RESULT="CUDA backend OFF: no CUDA compiler found (the GPU steps cannot run)" STATUS=failed
  fi
}
p_build() { [[ $2 == 0 ]] && RESULT="built with $JOBS jobs; module: $(shown "$(ls "$BUILD"/lib/libtoyformer_cuda.so 2>/dev/null || echo missing)")"; }
p_devices() {
  local gpus
  gpus=$(grep -E '^cuda [0-9]+:' "$1" | sed 's/^cuda //' | paste -sd ';' -)
  if [[ -n $gpus ]]; then
    RESULT=$gpus
  elif [[ $2 == 0 ]]; then
    RESULT=$(grep -m1 '^cuda:' "$1" | sed 's/^cuda: //') STATUS=failed
  fi
}
p_ctest() {
  local summary skipped
  summary=$(grep -E 'tests passed|tests failed' "$1" | tail -n 1)
  skipped=$(grep -c '\*\*\*Skipped' "$1")
  [[ -n $summary ]] && RESULT="$summary; $skipped skipped"
  local failed
  failed=$(awk '/The following tests FAILED/ { on = 1; next } on && NF { sub(/^[ \t]*[0-9]+ - /, ""); print }' "$1" |
           head -n 3 | paste -sd ';' -)
  [[ -n $failed ]] && RESULT+="; first failures: $failed"
}
# bench --json: µs per step for each H, back to back and with the loss read back each step.
p_bench() {
  [[ $2 == 0 ]] || return 0
  if ! have_python; then RESULT="see logs (no $PY to read the JSON)"; return 0; fi
  RESULT=$("$PY" - "$1" <<'EOF'
import json, sys
j = json.loads([l for l in open(sys.argv[1]) if l.startswith("{")][-1])
r = j["results"]
hs = "/".join(str(x["H"]) for x in r)
us = "/".join(f'{x["us_per_step"]:.2f}' for x in r)
rd = "/".join(f'{x["us_per_step_with_loss_read"]:.2f}' for x in r)
extra = f', GPU peak {j["gpu_peak_mb"]:.1f} MB' if "gpu_peak_mb" in j else ""
print(f'H={hs}: {us} us/step ({rd} with the loss read back each step); {j["path"]}, '
      f'CUDA graph {"on" if j["cuda_graph"] else "off"}{extra}')
EOF
  ) || { RESULT="unreadable JSON (see logs)"; STATUS=failed; }
}
p_train() {
  [[ $2 == 0 ]] || return 0
  if ! have_python; then RESULT="see logs"; return 0; fi
  RESULT=$("$PY" - "$1" <<'EOF'
import json, sys
j = json.loads([l for l in open(sys.argv[1]) if l.startswith("{")][-1])
print(f'final loss {j["final_loss"]:.6f}, {j["outcome"]} (share {j["share"]:.3f}), lr {j["final_lr"]:g}, '
      f'{j["us_per_step"]:.2f} us/step in the loop')
EOF
  ) || { RESULT="unreadable JSON (see logs)"; STATUS=failed; }
}
# sweep: the wall time it prints, and the counts of its summary.csv (H, runs, solved, ... stuck (7th), unfinished (11th)).
p_sweep() {
  [[ $2 == 0 ]] || return 0
  local wall table
  wall=$(grep -o '[0-9]* runs in [0-9.]* s wall[^;]*' "$1" | head -n 1)
  table=$(awk -F, 'NR > 1 { printf "%sH=%s %s/%s/%s", sep, $1, $3, $7, $11; sep = ", " }' \
          "$OUT/$(basename "$1" .log)/summary.csv" 2>/dev/null)
  RESULT="${wall:-?}; solved/stuck/unfinished of ${SEEDS}: ${table:-?}"
}
p_large() {
  [[ $2 == 0 ]] || return 0
  if ! have_python; then RESULT="see logs"; return 0; fi
  RESULT=$("$PY" - "$1" <<'EOF'
import json, sys
j = json.loads([l for l in open(sys.argv[1]) if l.startswith("{")][-1])
print(f'{j["ms_per_step"]:.3f} ms/step (~{j["gflops"]:.0f} GFLOP/s), B={j["B"]} T={j["T"]} E={j["E"]} H={j["H"]}')
EOF
  ) || { RESULT="unreadable JSON (see logs)"; STATUS=failed; }
}
p_torch_toy() {
  [[ $2 == 0 ]] || return 0
  local v rows
  v=$(grep -o '^PyTorch [^ ]*' "$1" | head -n 1)
  rows=$(awk '$1 ~ /^H=/ { printf "%s%s %s (%s)", sep, $1, $2, $4; sep = ", " }' "$1")
  RESULT="$v eager: $rows us/step (in parentheses: with loss.item() each step)"
}
p_torch_attention() {
  [[ $2 == 0 ]] || return 0
  RESULT=$(grep -o 'pytorch [^ ]*\|[0-9.]* ms/step' "$1" | paste -sd ' ' -)
}

# A step made from two earlier ones (no command of its own): NAME COMMAND-TEXT RESULT STATUS.
derived() {
  if ((DRY)); then
    record "$1" "$2" "planned" "" planned
  else
    record "$1" "$2" "$3" 0 "$4"
  fi
}

# ---- the run
{
  echo "# gpu_check: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo "- commit: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$ROOT" diff --quiet HEAD 2>/dev/null || echo ' (with uncommitted changes)')"
  echo "- host: $(hostname), $(nproc) cores; build: $(shown "$BUILD"), $JOBS jobs, sm_$ARCH; budget ${BUDGET}s"
  if ((DRY)); then
    echo "- dry run: nothing was built or run"
  elif command -v nvidia-smi >/dev/null 2>&1; then
    echo "- nvidia-smi: $(timeout 20 nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 | paste -sd ';' -)"
  else
    echo "- nvidia-smi: not found"
  fi
} >"$OUT/header.txt"

step configure 120 p_configure "" -- cmake "${CMAKE_ARGS[@]}"
step build 300 p_build configure -- cmake --build "$BUILD" --parallel "$JOBS"
step devices 30 p_devices build -- "$BIN" devices
step bench-cuda 60 p_bench devices -- "$BIN" bench --device cuda --steps "$STEPS" --json
step bench-cuda-eager 60 p_bench devices -- "$BIN" bench --device cuda --no-cuda-graph --steps "$STEPS" --json
step bench-cuda-step-graph 90 p_bench devices -- "$BIN" bench --device cuda --step graph --steps "$STEPS" --json
step train-cuda 60 p_train devices -- "$BIN" train --device cuda --seed 2 --quiet --json
step train-cpu 60 p_train build -- "$BIN" train --device cpu --seed 2 --quiet --json

# train: the GPU's final loss and verdict against the CPU's (the GPU parity test allows 5e-4 on the final loss).
COMPARE_TRAIN="compare train-cuda with train-cpu: same outcome, |final loss difference| <= 5e-4"
if ((!DRY)) && [[ ${STATUS_OF[train-cuda]} == ok && ${STATUS_OF[train-cpu]} == ok ]] && have_python; then
  res=$("$PY" - "$LOGS/train-cuda.log" "$LOGS/train-cpu.log" <<'EOF'
import json, sys
g, c = (json.loads([l for l in open(p) if l.startswith("{")][-1]) for p in sys.argv[1:3])
d = abs(g["final_loss"] - c["final_loss"])
ok = g["outcome"] == c["outcome"] and d <= 5e-4
print(("ok" if ok else "warn") + f'\t|loss difference| {d:.2e}; outcome cuda {g["outcome"]}, cpu {c["outcome"]}')
EOF
  )
  derived train-compare "$COMPARE_TRAIN" "${res#*$'\t'}" "${res%%$'\t'*}"
else
  derived train-compare "$COMPARE_TRAIN" "not run: needs train-cuda and train-cpu ok (and $PY)" skipped
fi

step bench-large-cuda 60 p_large devices -- "$BIN" bench --large --device cuda --json
SWEEP_ARGS=(sweep --H "10,20,40" --seeds "$SEEDS" --quiet --force)
step sweep-cuda 120 p_sweep devices -- "$BIN" "${SWEEP_ARGS[@]}" --device cuda --out "$OUT/sweep-cuda"
step ctest 180 p_ctest build -- env TOYFORMER_REQUIRE_GPU=1 ctest --test-dir "$BUILD" -j "$JOBS" --timeout 120
step sweep-cpu 90 p_sweep build -- "$BIN" "${SWEEP_ARGS[@]}" --device cpu --out "$OUT/sweep-cpu"

# sweep: do the GPU's runs end with the CPU's outcomes? (runs.csv columns H, seed, outcome; rows in grid order)
COMPARE_SWEEP="compare sweep-cuda/runs.csv with sweep-cpu/runs.csv: columns H, seed, outcome"
if ((!DRY)) && [[ ${STATUS_OF[sweep-cuda]} == ok && ${STATUS_OF[sweep-cpu]} == ok ]]; then
  g=$(cut -d, -f1,2,5 "$OUT/sweep-cuda/runs.csv")
  c=$(cut -d, -f1,2,5 "$OUT/sweep-cpu/runs.csv")
  total=$(($(wc -l <<<"$c") - 1))
  if [[ $g == "$c" ]]; then
    derived sweep-compare "$COMPARE_SWEEP" "identical outcomes in all $total runs" ok
  else
    ndiff=$(diff <(echo "$g") <(echo "$c") | grep -c '^<')
    first=$(diff <(echo "$g") <(echo "$c") | grep '^<' | head -n 5 | sed 's/^< //' | paste -sd ' ' -)
    derived sweep-compare "$COMPARE_SWEEP" "outcomes differ in $ndiff of $total runs (cuda rows: $first)" warn
  fi
else
  derived sweep-compare "$COMPARE_SWEEP" "not run: needs sweep-cuda and sweep-cpu ok" skipped
fi

# PyTorch beside us, when this python can import torch with CUDA.
TORCH_NEED=devices
if ((!DRY)); then
  if ! have_python || ! "$PY" -c 'import torch' >/dev/null 2>&1; then
    REASON_OF[torch]="$PY cannot import torch"
    TORCH_NEED=torch
  elif ! "$PY" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' >/dev/null 2>&1; then
    REASON_OF[torch]="torch $("$PY" -c 'import torch; print(torch.__version__)' 2>/dev/null) sees no CUDA GPU"
    TORCH_NEED=torch
  fi
fi
step torch-bench-toy 90 p_torch_toy "$TORCH_NEED" -- "$PY" tests/reference/bench_toy.py --device cuda --steps 2000
step torch-bench-attention 90 p_torch_attention "$TORCH_NEED" -- "$PY" tests/reference/bench_attention.py --device cuda

# ---- the table
{
  cat "$OUT/header.txt"
  echo
  echo "| step | command | result | seconds | status |"
  echo "|---|---|---|---|---|"
  printf '%s\n' "${ROWS[@]}"
  echo
  if ((DRY)); then
    echo "Dry run: ${#ROWS[@]} steps planned."
  else
    echo "Total $(elapsed) s; $FAILED step(s) failed. Logs: logs/<step>.log."
  fi
} >"$OUT/gpu_check.md"
rm -f "$OUT/header.txt"
echo "gpu_check: wrote $OUT/gpu_check.md"
((FAILED == 0))
