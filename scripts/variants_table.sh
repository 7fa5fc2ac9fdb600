#!/usr/bin/env bash
# README's "Which variant learns the task?" table: three-outcome rates (95% Wilson intervals) of model variants at
# equal parameter count, 100 seeds each, the notebook's training (SGD 0.01, ReduceLROnPlateau, 5020 epochs).
#   bash scripts/variants_table.sh [OUTDIR] [SEEDS]      (default /tmp/toyformer_variants, 100 seeds; ~25 s on 2 cores)
# Each row is one grid point of a `toyformer sweep` (its directory under OUTDIR has runs.csv and report.html).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
bin=${TOYFORMER:-$here/build/apps/toyformer}
out=${1:-/tmp/toyformer_variants}
seeds=${2:-100}
rm -rf "$out" && mkdir -p "$out"

sweep() {  # name, flags...
  local name=$1
  shift
  "$bin" sweep --seeds "$seeds" --quiet --out "$out/$name" "$@" >/dev/null
  # the model's parameter count, from the same flags (a grid's axes are passed to train one point at a time)
}
sweep notebook --H 20
sweep wo --H 20 --wo --grid pos=true,false residual=true,false
sweep heads2 --H 10 --heads 2 --grid pos=true,false residual=true,false
sweep heads4 --H 5 --heads 4
sweep nomask --H 20 --wo --no-mask

python3 - "$out" "$bin" <<'PY'
import csv, json, subprocess, sys
out, binary = sys.argv[1], sys.argv[2]
rows = [("notebook", "1 x 20, no W_O (the notebook)", ["--H", "20"]),
        ("wo", "1 x 20 + W_O", ["--H", "20", "--wo"]),
        ("heads2", "2 x 10 + W_O", ["--H", "10", "--heads", "2"]),
        ("heads4", "4 x 5 + W_O", ["--H", "5", "--heads", "4"]),
        ("nomask", "1 x 20 + W_O, no causal mask", ["--H", "20", "--wo", "--no-mask"])]
def pct(r, lo, hi):
    return f"{100 * float(r):.0f}% [{100 * float(lo):.0f}–{100 * float(hi):.0f}]"
print("| model | pos. emb. | residual | params | solved | stuck | unfinished | median final loss |")
print("|---|---|---|---|---|---|---|---|")
for name, label, flags in rows:
    for p in csv.DictReader(open(f"{out}/{name}/summary.csv")):
        pos, res = p.get("pos", "true"), p.get("residual", "true")
        extra = (["--no-pos"] if pos == "false" else []) + (["--no-residual"] if res == "false" else [])
        j = json.loads(subprocess.run([binary, "train", "--epochs", "0", "--quiet", "--json", *flags, *extra],
                                      check=True, capture_output=True, text=True).stdout)
        cells = [pct(p[f"{o}_rate"], p[f"{o}_rate_lo95"], p[f"{o}_rate_hi95"]) for o in ("solved", "stuck", "unfinished")]
        print(f"| {label} | {'yes' if pos == 'true' else 'no'} | {'yes' if res == 'true' else 'no'} | {j['params']} | "
              + " | ".join(cells) + f" | {float(p['final_loss_median']):.3f} |")
PY
