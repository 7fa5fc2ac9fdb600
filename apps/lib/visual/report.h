// HTML reports and figures: one self-contained page (inline CSS and SVG, no URL) for a run or a sweep, and the
// writers of a run directory and a sweep directory, which add the figures and pages to the records of
// apps/lib/training/run_record.h and apps/lib/sweep/sweep.h.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "apps/lib/sweep/sweep.h"
#include "apps/lib/training/run_record.h"
#include "apps/lib/visual/svg.h"

namespace toy {

// DIR/run.json (apps/lib/training/run_record.h: run_json), weights.npz, activations.npz, report.html, loss.svg and
// attention.svg, each written atomically; with snapshots also attention_epochs.svg (run_snapshot_figure).
void write_run_dir(const std::string& dir, const RunRecord& r, const NpzArrays& weights,
                   const NpzArrays& activations);
// DIR/runs.csv, summary.csv, timing.csv (apps/lib/sweep/sweep.h: write_sweep_tables), final_loss.svg,
// outcome_rate.svg, report.html, then sweep.json last (a directory with sweep.json is complete).
void write_sweep_dir(const std::string& dir, const SweepData& d);

// The pages. Every figure is inline SVG; there is no external stylesheet, script, font or image. The one inline
// script: the epoch slider of a run with attention snapshots (absent otherwise). A model variant's run page shows every
// block and head: its attention as small multiples ("L0 head 1") per sequence and in the slider, its attention chain
// block by block, and the attention to the evidence per head.
std::string run_report_html(const RunRecord& r);
std::string sweep_report_html(const SweepData& d);
// The figures, as the pages inline them or as standalone .svg files (the default options).
std::string run_loss_figure(const RunRecord& r, const svg::Options& o = {});
// One panel per sequence; a variant's: one per sequence, block and head ("sequence 0: L0 head 1", small multiples).
std::string run_attention_figure(const RunRecord& r, const svg::Options& o = {});
// Attention heatmaps at up to 8 evenly spaced snapshot epochs per sequence (and a variant's block and head: "sequence
// 0, L0 head 1, epoch 50"; small multiples, for printing); empty when the record has no attention snapshots.
std::string run_snapshot_figure(const RunRecord& r, const svg::Options& o = {});
std::string sweep_loss_figure(const SweepData& d, const svg::Options& o = {});     // final loss per H
std::string sweep_rate_figure(const SweepData& d, const svg::Options& o = {});     // outcome rates per H
// The judged positions' decision shares over the snapshot epochs; empty without share@epochs.
std::string run_share_figure(const RunRecord& r, const svg::Options& o = {});
// The page for a run directory (run.json) or a sweep directory (sweep.json); a clear error for anything else.
std::string report_for_dir(const std::string& dir);

}  // namespace toy
