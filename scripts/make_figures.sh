#!/usr/bin/env bash
# Regenerates README's figures (docs/figures/) and prints the sweep table README quotes:
#   the 3 x 100-seed sweep (final-loss plot, outcome-rate plot) and the run of `train --seed 2` (a run that solves:
#   attention heatmaps, loss curve). Needs a built toyformer (TOYFORMER=path, default build/apps/toyformer).
set -euo pipefail
cd "$(dirname "$0")/.."
B="${TOYFORMER:-build/apps/toyformer}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
"$B" sweep --H 10,20,40 --seeds 100 --quiet --out "$tmp/sweep"
cp "$tmp/sweep/final_loss.svg" docs/figures/sweep_final_loss.svg
cp "$tmp/sweep/outcome_rate.svg" docs/figures/sweep_outcome_rate.svg
"$B" train --seed 2 --quiet --out "$tmp/run"
cp "$tmp/run/attention.svg" docs/figures/attention_heatmap.svg
cp "$tmp/run/loss.svg" docs/figures/loss_curve.svg
echo "wrote docs/figures/{sweep_final_loss,sweep_outcome_rate,attention_heatmap,loss_curve}.svg"
