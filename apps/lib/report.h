// Run records and HTML reports: what `train --out DIR` stores (run.json, weights.npz, activations.npz), the
// vocabulary entry of activation dumps, and one self-contained HTML page (inline CSS and SVG, no URL) for a run
// or a sweep.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "apps/lib/svg.h"
#include "apps/lib/verdict.h"
#include "core/npz.h"
#include "layers/toy_model.h"

namespace toy {

struct SweepData;

// Activation dumps (`train --dump-activations`, DIR/activations.npz) hold the 14 layer outputs, `loss` and `lr`,
// then `vocab`: the vocabulary as Unicode code points, float32 [V, L] (L = the longest word, zero-padded), so
// numpy reads it back with ["".join(map(chr, w[w > 0].astype(int))) for w in d["vocab"]].
constexpr const char* kDumpVocab = "vocab";
Tensor vocab_tensor(const std::vector<std::string>& vocab);
std::vector<std::string> vocab_from_tensor(const Tensor& t);  // throws when t is not [V, L] of code points

// The dump of a model whose graph holds the whole corpus: 14 layers, loss and lr per epoch, vocab.
NpzArrays activation_arrays(const Model& view, const std::vector<float>& loss, const std::vector<float>& lr,
                            const std::vector<std::string>& vocab);

// A finished training run.
struct RunRecord {
  nlohmann::json config;  // the train flags that decide the numbers (H, seed, epochs, optimizer, ...)
  ToyCorpus corpus;
  std::vector<float> loss, lr;      // per epoch
  std::vector<int64_t> reductions;  // 0-based epochs at whose end the lr was reduced
  float final_loss = 0, final_lr = 0;
  Verdict verdict;       // outcome, share, the judged positions
  LossLevels levels;     // the corpus' loss floor and undecided level
  bool stopped_early = false;
  float attn_the_to_subject = 0;  // see sweep.h: attention_to_evidence
  int64_t params = 0;
  double us_per_step = 0;
  Tensor activation, attn;  // [N, T, V] and [N, T, T] over the whole corpus at the final weights
  // Optional further arrays of the dump: dot, lambda [N, T, T], Voutput, skipadd [N, T, V] (the report's attention
  // chain section) and the snapshots epochs [S] + AttnWts@epochs [S, N, T, T] (the epoch slider and the small
  // multiples), activation@epochs [S, N, T, V] (the slider's prediction tables) and share@epochs [S, J] (the judged
  // positions' shares over training). Sections whose arrays are missing are left out.
  NpzArrays layers;
  const Tensor* layer(const std::string& name) const;
};

// run.json: {"kind": "toyformer-run", "config", "corpus", "metrics", "history": {"loss", "lr", "reductions"}}.
nlohmann::json run_json(const RunRecord& r);
// DIR/run.json, weights.npz, activations.npz, report.html, loss.svg and attention.svg, each written atomically;
// with snapshots also attention_epochs.svg (run_snapshot_figure).
void write_run_dir(const std::string& dir, const RunRecord& r, const NpzArrays& weights,
                   const NpzArrays& activations);
// Read DIR/run.json and the activation and attention tensors of DIR/activations.npz.
RunRecord load_run_dir(const std::string& dir);

// The pages. Every figure is inline SVG; there is no external stylesheet, script, font or image. The one inline
// script: the epoch slider of a run with attention snapshots (absent otherwise).
std::string run_report_html(const RunRecord& r);
std::string sweep_report_html(const SweepData& d);
// The figures, as the pages inline them or as standalone .svg files (the default options).
std::string run_loss_figure(const RunRecord& r, const svg::Options& o = {});
std::string run_attention_figure(const RunRecord& r, const svg::Options& o = {});  // one panel per sequence
// Attention heatmaps at up to 8 evenly spaced snapshot epochs per sequence (small multiples, for printing); empty
// when the record has no AttnWts snapshots.
std::string run_snapshot_figure(const RunRecord& r, const svg::Options& o = {});
std::string sweep_loss_figure(const SweepData& d, const svg::Options& o = {});     // final loss per H
std::string sweep_rate_figure(const SweepData& d, const svg::Options& o = {});     // outcome rates per H
// The judged positions' decision shares over the snapshot epochs; empty without share@epochs.
std::string run_share_figure(const RunRecord& r, const svg::Options& o = {});
// The page for a run directory (run.json) or a sweep directory (sweep.json); a clear error for anything else.
std::string report_for_dir(const std::string& dir);

}  // namespace toy
