#!/usr/bin/env bash
# toyformer beside its peers (PyTorch eager, JAX), interleaved rounds, medians, one markdown table.
#
#   bash scripts/bench_peers.sh [--rounds N] [--quick] [--out FILE] [--no-install] [--keep-logs]
#
# Each round runs, one process at a time: `toyformer bench` (H=10,20,40) | bench_toy.py (PyTorch, 1 thread) |
# jax_toy.py --bench (1 thread) | `toyformer sweep --H 20 --seeds 100 --jobs 1` | jax_toy.py --vmap 100 (1 thread) |
# `toyformer sweep --H 10,20,40 --seeds 100` (all cores) | jax_toy.py --sweep (one XLA host device per core) |
# `toyformer bench --large` with OPENBLAS_NUM_THREADS=1 and =2 | jax_toy.py --large with 1 thread and all threads;
# bench_attention.py (PyTorch, 1 thread) runs in the first round only (it takes seconds per step).
# The medians over the rounds go into one table (stdout, and --out FILE); the raw values and every log stay in a
# temporary folder whose path is printed (deleted at the end unless --keep-logs).
#
# JAX comes from a virtual environment this script makes if it is missing: .venv-peers/ (`python3 -m venv` +
# `pip install jax`; PEERS_VENV=DIR to put it elsewhere; it holds a .gitignore of its own so git ignores it).
# PyTorch is Debian's: /usr/bin/python3 (TORCH_PYTHON=... to use another). TOYFORMER=path picks the binary
# (default build/apps/toyformer). A peer that is missing or fails gets "n/a (reason)" in its cells; the rest runs on.
# --quick: a smoke run (tiny step counts and shapes, one round): checks that every step runs, numbers meaningless.
# The logs are kept (and their folder printed) when a step fails.
set -u
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT" || exit 2

ROUNDS=3 ROUNDS_SET=0 QUICK=0 OUT="" INSTALL=1 KEEP=0
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) ROUNDS="${2:-}"; ROUNDS_SET=1; shift 2 ;;
    --rounds=*) ROUNDS="${1#--rounds=}"; ROUNDS_SET=1; shift ;;
    --quick) QUICK=1; shift ;;
    --out) OUT="${2:-}"; shift 2 ;;
    --no-install) INSTALL=0; shift ;;
    --keep-logs) KEEP=1; shift ;;
    -h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench_peers.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
case "$ROUNDS" in ''|*[!0-9]*|0) echo "bench_peers.sh: --rounds needs a positive integer" >&2; exit 2 ;; esac
[ "$QUICK" = 1 ] && [ "$ROUNDS_SET" = 0 ] && ROUNDS=1

TOY="${TOYFORMER:-$ROOT/build/apps/toyformer}"
VENV="${PEERS_VENV:-$ROOT/.venv-peers}"
VPY="$VENV/bin/python"
TPY="${TORCH_PYTHON:-/usr/bin/python3}"
PY="$(command -v python3 || command -v "$TPY" || true)"  # for parsing (standard library only)
LIMIT="${BENCH_STEP_TIMEOUT:-900}"                       # seconds per step
if [ -z "$PY" ]; then echo "bench_peers.sh: needs python3 to read the results" >&2; exit 2; fi
WORK="$(mktemp -d "${TMPDIR:-/tmp}/bench_peers.XXXXXX")" || exit 2
RAW="$WORK/raw.tsv"; : > "$RAW"
cleanup() { [ "$KEEP" = 1 ] || rm -rf "$WORK"; }
trap cleanup EXIT

# Sizes: the real run, or a smoke run.
if [ "$QUICK" = 1 ]; then
  TOY_STEPS=(--steps 2000 --warmup 100); PT_STEPS=(--steps 30 --warmup 5)
  EPOCHS=200; SEEDS=4; JX_REP=(--repeats 1)
  LARGE_TOY=(--B 2 --T 32 --E 64 --Hl 64 --steps 2 --warmup 1); LARGE_JX=(--B 2 --T 32 --E 64 --Hl 64 --repeats 2)
  LARGE_PT=(--B 2 --T 32 --E 64 --H 64 --steps 2 --warmup 1)
else
  TOY_STEPS=(--steps 100000); PT_STEPS=(--steps 3000)
  EPOCHS=5020; SEEDS=100; JX_REP=()
  LARGE_TOY=(); LARGE_JX=(--repeats 10); LARGE_PT=(--steps 2 --warmup 1)
fi

note() { printf '%s\n' "$*" >&2; }
put() { printf '%s\t%s\n' "$1" "$2" >> "$RAW"; }   # key, value (a number or "NA:reason")
na_all() { local reason="$1"; shift; for k in "$@"; do put "$k" "NA:$reason"; done; }

# timed NAME CMD...: run CMD (stdout+stderr to $WORK/NAME.log) under a time limit; sets RC and WALL/CPU (seconds:
# wall, user+sys). Uses /usr/bin/time when present, else bash's time (the same figures).
timed() {
  local name="$1"; shift
  LOG="$WORK/$name.log"
  local tf="$WORK/$name.time"
  if [ -x /usr/bin/time ]; then
    /usr/bin/time -f '%e %U %S' -o "$tf" timeout "$LIMIT" "$@" > "$LOG" 2>&1; RC=$?
  else
    local TIMEFORMAT='%R %U %S'
    { time timeout "$LIMIT" "$@" > "$LOG" 2>&1; } 2> "$tf"; RC=$?
  fi
  read -r WALL CPU <<< "$(awk 'NF>=3 && $1 ~ /^[0-9.]+$/ {w=$1; c=$2+$3} END {print w+0, c+0}' "$tf" 2>/dev/null)"
  if [ "$RC" != 0 ]; then
    note "  $name: exit $RC (log: $LOG)"; tail -n 3 "$LOG" | sed 's/^/    /' >&2
    KEEP=1  # keep the logs of a failed step
  fi
  return "$RC"
}
why() { if [ "$RC" = 124 ]; then echo "timed out after ${LIMIT} s"; else echo "failed, exit $RC"; fi; }

# json_get FILE EXPR: evaluate a Python expression on the last JSON object line of FILE (as `j`).
json_get() {
  "$PY" - "$1" "$2" <<'EOF'
import json, sys
j = None
for line in open(sys.argv[1], errors="replace"):
    line = line.strip()
    if line.startswith("{"):
        try:
            j = json.loads(line)
        except ValueError:
            pass
if j is None:
    sys.exit(1)
print(eval(sys.argv[2], {"j": j}))
EOF
}

# ---- the peers: what is there -------------------------------------------------------------------------------------
HAVE_TOY=1 TOY_WHY=""
if [ ! -f "$TOY" ] || [ ! -x "$TOY" ]; then HAVE_TOY=0; TOY_WHY="no binary at ${TOY#"$ROOT"/}: build first"; fi
HAVE_PT=1 PT_WHY=""
if ! PTV="$("$TPY" -c 'import torch; print(torch.__version__)' 2>/dev/null)"; then
  HAVE_PT=0; PT_WHY="no PyTorch in $TPY"; PTV=""
fi
HAVE_JX=1 JX_WHY=""
if ! "$VPY" -c 'import jax' > /dev/null 2>&1; then
  if [ "$INSTALL" = 1 ]; then
    note "making $VENV with JAX (python3 -m venv; pip install jax) ..."
    if { [ -x "$VPY" ] || python3 -m venv "$VENV"; } > "$WORK/venv.log" 2>&1; then
      [ -f "$VENV/.gitignore" ] || printf '*\n' > "$VENV/.gitignore"
      "$VPY" -m pip install --disable-pip-version-check --timeout 30 --retries 2 jax >> "$WORK/venv.log" 2>&1 \
        || { HAVE_JX=0; JX_WHY="pip install jax failed (no network?)"; }
    else
      HAVE_JX=0; JX_WHY="python3 -m venv failed"
    fi
    [ "$HAVE_JX" = 1 ] && ! "$VPY" -c 'import jax' > /dev/null 2>&1 && { HAVE_JX=0; JX_WHY="jax does not import"; }
    [ "$HAVE_JX" = 0 ] && { note "  $JX_WHY; see $WORK/venv.log"; KEEP=1; }
  else
    HAVE_JX=0; JX_WHY="no JAX in ${VENV#"$ROOT"/} (--no-install)"
  fi
fi
JXV=""; [ "$HAVE_JX" = 1 ] && JXV="$("$VPY" -c 'import jax; print(jax.__version__)' 2>/dev/null)"
JAX_TOY=(env JAX_PLATFORMS=cpu "$VPY" tests/reference/jax_toy.py --json)

HS=(10 20 40)
SWEEP_OUT="$WORK/sweep"

for ((r = 1; r <= ROUNDS; r++)); do
  note "round $r of $ROUNDS ..."
  # 1. one model, one core: us per step
  if [ "$HAVE_TOY" = 1 ]; then
    if timed "r${r}_toy_bench" "$TOY" bench --H 10,20,40 "${TOY_STEPS[@]}" --json; then
      for h in "${HS[@]}"; do
        put "toy_us_$h" "$(json_get "$LOG" "[x['us_per_step_with_loss_read'] for x in j['results'] if x['H']==$h][0]" \
          || echo "NA:no JSON result")"
        put "toy_b2b_us_$h" "$(json_get "$LOG" "[x['us_per_step'] for x in j['results'] if x['H']==$h][0]" || echo NA:-)"
      done
    else na_all "$(why)" toy_us_10 toy_us_20 toy_us_40; fi
  else na_all "$TOY_WHY" toy_us_10 toy_us_20 toy_us_40; fi

  if [ "$HAVE_PT" = 1 ]; then
    if timed "r${r}_torch_toy" env OMP_NUM_THREADS=1 "$TPY" tests/reference/bench_toy.py --H 10,20,40 "${PT_STEPS[@]}"
    then
      for h in "${HS[@]}"; do
        put "pt_us_$h" "$(sed -n "s/^ *H=$h  *[0-9.]* us\/step  *\([0-9.]*\) us\/step.*/\1/p" "$LOG" | head -n 1 | grep . \
          || echo "NA:unparsed output")"
      done
    else na_all "$(why)" pt_us_10 pt_us_20 pt_us_40; fi
  else na_all "$PT_WHY" pt_us_10 pt_us_20 pt_us_40; fi

  if [ "$HAVE_JX" = 1 ]; then
    if timed "r${r}_jax_bench" "${JAX_TOY[@]}" --bench --threads 1 --epochs "$EPOCHS" "${JX_REP[@]}"; then
      for h in "${HS[@]}"; do
        put "jx_us_$h" "$(json_get "$LOG" "[x['us_per_step'] for x in j['results'] if x['H']==$h][0]" \
          || echo "NA:no JSON result")"
      done
    else na_all "$(why)" jx_us_10 jx_us_20 jx_us_40; fi
  else na_all "$JX_WHY" jx_us_10 jx_us_20 jx_us_40; fi

  # 2. models trained together, one core: us per model-step at H=20
  if [ "$HAVE_TOY" = 1 ]; then
    rm -rf "$SWEEP_OUT"
    if timed "r${r}_toy_sweep1" "$TOY" sweep --H 20 --seeds "$SEEDS" --epochs "$EPOCHS" --jobs 1 --quiet \
      --out "$SWEEP_OUT"; then
      put toy_ms20 "$("$PY" -c "print($WALL * 1e6 / ($SEEDS * $EPOCHS))")"
    else put toy_ms20 "NA:$(why)"; fi
  else put toy_ms20 "NA:$TOY_WHY"; fi
  if [ "$HAVE_JX" = 1 ]; then
    if timed "r${r}_jax_vmap" "${JAX_TOY[@]}" --vmap "$SEEDS" --H 20 --threads 1 --epochs "$EPOCHS" --repeats 2; then
      put jx_ms20 "$(json_get "$LOG" "j['results'][0]['us_per_model_step']" || echo "NA:no JSON result")"
    else put jx_ms20 "NA:$(why)"; fi
  else put jx_ms20 "NA:$JX_WHY"; fi

  # 3. the sweep: 3 H x SEEDS seeds x EPOCHS epochs, all cores, wall
  if [ "$HAVE_TOY" = 1 ]; then
    rm -rf "$SWEEP_OUT"
    if timed "r${r}_toy_sweep" "$TOY" sweep --H 10,20,40 --seeds "$SEEDS" --epochs "$EPOCHS" --quiet --out "$SWEEP_OUT"
    then put toy_sweep "$WALL"; put toy_sweep_cpu "$CPU"
    else put toy_sweep "NA:$(why)"; fi
  else put toy_sweep "NA:$TOY_WHY"; fi
  if [ "$HAVE_JX" = 1 ]; then
    if timed "r${r}_jax_sweep" "${JAX_TOY[@]}" --sweep --seeds "$SEEDS" --epochs "$EPOCHS"; then
      put jx_sweep "$(json_get "$LOG" "j['total_wall_s']" || echo "NA:no JSON result")"
      put jx_sweep_compile "$(json_get "$LOG" "j['total_compile_s']" || echo NA:-)"
      put jx_sweep_proc "$WALL"; put jx_sweep_cpu "$CPU"
    else put jx_sweep "NA:$(why)"; fi
  else put jx_sweep "NA:$JX_WHY"; fi

  # 4. one attention layer at B=32 T=256 E=512 H=512: ms per step, one core and all cores
  for n in 1 2; do
    if [ "$HAVE_TOY" = 1 ]; then
      if timed "r${r}_toy_large$n" env OPENBLAS_NUM_THREADS=$n OMP_NUM_THREADS=$n "$TOY" bench --large "${LARGE_TOY[@]}" \
        --json; then
        put "toy_large$n" "$(json_get "$LOG" "j['ms_per_step']" || echo "NA:no JSON result")"
        put "toy_large${n}_par" "$("$PY" -c "print($CPU / $WALL if $WALL > 0 else 0)")"
      else put "toy_large$n" "NA:$(why)"; fi
    else put "toy_large$n" "NA:$TOY_WHY"; fi
    if [ "$HAVE_JX" = 1 ]; then
      thr=(--threads 1); [ "$n" = 2 ] && thr=()
      if timed "r${r}_jax_large$n" "${JAX_TOY[@]}" --large "${thr[@]}" "${LARGE_JX[@]}"; then
        put "jx_large$n" "$(json_get "$LOG" "j['ms_per_step']" || echo "NA:no JSON result")"
        put "jx_large${n}_par" "$("$PY" -c "print($CPU / $WALL if $WALL > 0 else 0)")"
      else put "jx_large$n" "NA:$(why)"; fi
    else put "jx_large$n" "NA:$JX_WHY"; fi
  done
  if [ "$r" = 1 ]; then
    if [ "$HAVE_PT" = 1 ]; then
      if timed "r${r}_torch_large1" env OMP_NUM_THREADS=1 "$TPY" tests/reference/bench_attention.py "${LARGE_PT[@]}"
      then put pt_large1 "$(sed -n 's/.*: \([0-9.]*\) ms\/step.*/\1/p' "$LOG" | head -n 1 | grep . || echo NA:unparsed)"
      else put pt_large1 "NA:$(why)"; fi
    else put pt_large1 "NA:$PT_WHY"; fi
  fi
done

# ---- the table ----------------------------------------------------------------------------------------------------
CPU_MODEL="$( (lscpu 2>/dev/null | sed -n 's/^Model name: *//p'; grep -m1 'model name' /proc/cpuinfo 2>/dev/null \
  | sed 's/.*: //') | head -n 1)"
ISA="$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null | tr ' ' '\n' | grep -xE 'avx2|avx512f|fma' | sort | tr '\n' ' ')"
REV="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')"
git -C "$ROOT" diff --quiet HEAD 2>/dev/null || REV="$REV+local changes"
TABLE="$WORK/table.md"
QUICK="$QUICK" ROUNDS="$ROUNDS" EPOCHS="$EPOCHS" SEEDS="$SEEDS" PTV="$PTV" JXV="$JXV" CPU_MODEL="$CPU_MODEL" ISA="$ISA" \
REV="$REV" LOAD="$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)" "$PY" - "$RAW" > "$TABLE" <<'EOF'
import os, statistics, sys, datetime, platform
vals, why = {}, {}
for line in open(sys.argv[1]):
    k, _, v = line.rstrip("\n").partition("\t")
    if v.startswith("NA:"):
        why.setdefault(k, v[3:])
        continue
    try:
        vals.setdefault(k, []).append(float(v))
    except ValueError:
        why.setdefault(k, "unparsed: " + v[:40])
E = os.environ
def med(k):
    return statistics.median(vals[k]) if vals.get(k) else None
def cell(k, unit="", fmt="{:.3g}"):
    m = med(k)
    if m is None:
        return f"n/a ({why.get(k, 'not run')})"
    return fmt.format(m) + unit
def ratio(peer, ours, name):
    a, b = med(peer), med(ours)
    if not (a and b):
        return None
    x = a / b
    return f"{name} {x:.0f}×" if x >= 20 else f"{name} {x:.2g}×"
def ratios(*pairs):
    r = [x for x in (ratio(*p) for p in pairs) if x]
    return ", ".join(r) if r else "n/a"
S, N = int(E["SEEDS"]), int(E["EPOCHS"])
rows = []
for h in (10, 20, 40):
    rows.append((f"µs per step, one model, H={h}, one core", cell(f"toy_us_{h}", " µs"), cell(f"pt_us_{h}", " µs"),
                 cell(f"jx_us_{h}", " µs"), ratios((f"pt_us_{h}", f"toy_us_{h}", "PyTorch"),
                                                   (f"jx_us_{h}", f"toy_us_{h}", "JAX"))))
rows.append((f"µs per model-step, H=20, {S} models trained together, one core", cell("toy_ms20", " µs"),
             "n/a (no PyTorch twin)", cell("jx_ms20", " µs"), ratios(("jx_ms20", "toy_ms20", "JAX"))))
jx = cell("jx_sweep", " s")
if med("jx_sweep_compile") is not None:
    jx += f" (+ {med('jx_sweep_compile'):.2g} s XLA compile)"
rows.append((f"sweep 3 H × {S} seeds × {N} epochs, wall, all {os.cpu_count()} cores", cell("toy_sweep", " s"),
             "n/a (no PyTorch twin)", jx, ratios(("jx_sweep", "toy_sweep", "JAX"))))
rows.append(("`bench --large` B=32 T=256 E=512 H=512, ms per step, one core" if E["QUICK"] == "0" else
             "`bench --large` (smoke shape B=2 T=32 E=64 H=64), ms per step, one core",
             cell("toy_large1", " ms"), cell("pt_large1", " ms"), cell("jx_large1", " ms"),
             ratios(("pt_large1", "toy_large1", "PyTorch"), ("jx_large1", "toy_large1", "JAX"))))
rows.append((f"same, all cores (OPENBLAS_NUM_THREADS=2; JAX all threads)", cell("toy_large2", " ms"),
             "not run (one-core figure only)", cell("jx_large2", " ms"), ratios(("jx_large2", "toy_large2", "JAX"))))
print("| workload | toyformer (median) | PyTorch eager | JAX | ratio (peer / toyformer) |")
print("|---|---|---|---|---|")
for r in rows:
    print("| " + " | ".join(r) + " |")
print()
if E["QUICK"] == "1":
    print("**Smoke run (--quick): tiny step counts and shapes; these numbers mean nothing.**\n")
par = lambda k: f"{med(k):.2f}" if med(k) is not None else "n/a"
print(f"{datetime.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}; `uname -m` {platform.machine()}; `nproc` "
      f"{os.cpu_count()}; CPU {E['CPU_MODEL'] or '?'} ({E['ISA'].strip() or 'flags ?'}); load average at the end "
      f"{E['LOAD']}; toyformer {E['REV']}; PyTorch {E['PTV'] or 'n/a'}; JAX {E['JXV'] or 'n/a'}. Medians of "
      f"{E['ROUNDS']} interleaved round(s).")
print(f"One model: toyformer `bench --json` us_per_step_with_loss_read (each step's loss read back, as `train` runs); "
      f"PyTorch `bench_toy.py` with loss.item() every step, OMP_NUM_THREADS=1; JAX `jax_toy.py --bench --threads 1`: "
      f"the whole {N}-epoch training with the plateau rule in one jit, wall / {N}. Models together: toyformer "
      f"`sweep --H 20 --seeds {S} --jobs 1` process wall / ({S}·{N}); JAX `jit(vmap)` over {S} randomly initialized "
      f"seeds, one thread. Sweep: toyformer `sweep` process wall (writes runs.csv etc.); JAX three `jit(vmap)` calls "
      f"after compilation, seeds split over one XLA host device per core. CPU use ((user+sys)/wall) of the large "
      f"runs: toyformer {par('toy_large1_par')} / {par('toy_large2_par')}, JAX {par('jx_large1_par')} / "
      f"{par('jx_large2_par')} (one core / all cores).")
EOF
cat "$TABLE"
[ -n "$OUT" ] && cp "$TABLE" "$OUT"
if [ "$KEEP" = 1 ]; then note "logs and raw values: $WORK"; fi
exit 0
