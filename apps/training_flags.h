// The flags that decide how the toy model trains, shared by `train` and `sweep` (so both accept the same ones with
// the same defaults: the notebook's).
#pragma once
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cerrno>
#include <cmath>
#include <cstdint>
#include <algorithm>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "apps/flag_checks.h"
#include "apps/lib/sweep/sweep.h"
#include "apps/lib/training/train.h"
#include "apps/lib/training/verdict.h"
#include "core/error.h"
#include <string>
#include <vector>

namespace toy::app {

using toy::kMaxSteps;  // apps/lib/training/settings.h

// What `train` and `sweep` read from the training flags: the settings that decide the numbers (one struct,
// apps/lib/training/settings.h, that run.json, checkpoints, sweep.json and the Python module share), the corpus and the
// verdict's threshold.
struct TrainingFlags : TrainSettings {
  std::string corpus;         // --corpus FILE ("" = the notebook's two sentences)
  double solved_share = 0.9;  // the verdict's threshold (decides the outcome, not the numbers)
  const TrainSettings& settings() const { return *this; }
};

// run.json's "config" for a `train` run: the settings, H, seed, epochs, the corpus ("notebook", a path, or the
// sentences), --init-weights (null when none) and the verdict's threshold.
inline nlohmann::json run_config(const TrainingFlags& f, int64_t H, uint64_t seed, nlohmann::json corpus,
                                 const std::string& init_weights) {
  nlohmann::json config = f.settings();
  config["H"] = H;
  config["seed"] = seed;
  config["corpus"] = std::move(corpus);
  config["init_weights"] = init_weights.empty() ? nlohmann::json(nullptr) : nlohmann::json(init_weights);
  config["solved_share"] = f.solved_share;
  return config;
}

// The sweep configuration these flags decide (the head sizes and seeds are the caller's; corpus_source: "notebook"
// or the --corpus path).
inline SweepConfig sweep_config(const TrainingFlags& f) {
  SweepConfig c;
  static_cast<TrainSettings&>(c) = f.settings();
  c.solved_share = f.solved_share;
  c.corpus_source = f.corpus.empty() ? "notebook" : f.corpus;
  return c;
}

// The verdict's rules from the flags.
inline VerdictRules verdict_rules(const TrainingFlags& f) {
  VerdictRules r;
  r.solved_share = f.solved_share;
  return r;
}

// README and --help state the rules in these words.
inline const char* kOutcomeRules =
    "Outcomes: solved = share >= --solved-share (default 0.9, a logit gap >= ln 9) at every judged position; "
    "stuck = not solved, and the plateau rule drove the lr down to --min-lr or the loss fell by less than 1e-3 over "
    "the last 10% of epochs; unfinished = not solved and still improving (more epochs would likely help). The share "
    "at a judged position (the next token is fixed by the prefix but not by the token alone: 'the') is "
    "p(target) / (p(target) + p(strongest competitor)) on the distribution the model was trained on (softmax over "
    "skipadd for --loss keras; the clipped, normalized sigmoid for --loss normalized).";

// The model variant (layers/toy_model.h: ToyArch); every default is the notebook's model. heads = false: without
// --heads (a command whose --heads has another meaning adds its own).
inline void add_arch_flags(CLI::App* s, ToyArch& a, bool heads = true) {
  if (heads)
    s->add_option("--heads", a.heads, "attention heads of size --H each; > 1 adds the output projection W_O (Keras' "
                                      "MultiHeadAttention layout)")
        ->check(int_in(1, 64))
        ->capture_default_str();
  s->add_flag("--wo", a.wo, "the output projection W_O with one head too (so 1 x 20 and 2 x 10 have equal parameters)");
  s->add_option("--layers", a.layers, "attention blocks stacked (each: attention + residual [+ ffn] [+ norm])")
      ->check(int_in(1, 16))
      ->capture_default_str();
  s->add_option("--ffn", a.ffn, "width of a position-wise Dense-ReLU-Dense after each attention, with its residual "
                                "(0: none)")
      ->check(int_in(0, 4096))
      ->capture_default_str();
  s->add_option_function<std::string>(
       "--norm", [&a](const std::string& v) { a.norm = v == "layer"; },
       "none | layer: LayerNorm (epsilon 1e-3) after each residual add (post-norm)")
      ->check(CLI::IsMember({"none", "layer"}))
      ->default_str("none");
  s->add_flag("--no-pos{false}", a.pos, "ablation: no positional embedding");
  s->add_flag("--no-residual{false}", a.residual, "ablation: no residual add");
  s->add_flag("--no-mask{false}", a.mask, "ablation: no causal mask (a position sees the whole sentence)");
}

// --epochs --batch --optimizer --lr --momentum --nesterov --no-plateau --plateau-factor --plateau-patience --min-lr
// --min-delta --cooldown --loss --device --step --corpus
inline void add_training_flags(CLI::App* s, TrainingFlags& f, const std::string& device_help = "cpu | cuda") {
  s->add_option("--epochs", f.epochs, "training epochs (x steps per epoch at most 2^24)")
      ->check(int_in(0, kMaxSteps))
      ->capture_default_str();
  s->add_option("--batch", f.batch, "sequences per step (must divide the corpus size)")
      ->check(int_in(1, int64_t{1} << 30))
      ->capture_default_str();
  s->add_option("--optimizer", f.optimizer, "sgd | rmsprop | adam (Keras 2 defaults)")
      ->check(CLI::IsMember({"sgd", "rmsprop", "adam"}))
      ->capture_default_str();
  s->add_option("--lr", f.lr, "learning rate, > 0 (default: sgd 0.01, rmsprop/adam 0.001)")
      ->check(finite_in(0, 1e30, true));
  s->add_option("--momentum", f.momentum, "momentum (sgd, rmsprop), in [0, 1)")
      ->check(finite_in(0, 1, false, true))
      ->capture_default_str();
  s->add_flag("--nesterov", f.nesterov, "Nesterov momentum (sgd)");
  s->add_flag("--no-plateau{false}", f.plateau, "disable ReduceLROnPlateau");
  s->add_option("--plateau-factor", f.plateau_factor, "ReduceLROnPlateau factor, in (0, 1)")
      ->check(finite_in(0, 1, true, true))
      ->capture_default_str();
  s->add_option("--plateau-patience", f.plateau_patience, "ReduceLROnPlateau patience (epochs), >= 0")
      ->check(int_in(0, kMaxSteps))
      ->capture_default_str();
  s->add_option("--min-lr", f.min_lr, "ReduceLROnPlateau min_lr, >= 0")->check(finite_in(0, 1e30))->capture_default_str();
  s->add_option("--min-delta", f.min_delta, "ReduceLROnPlateau min_delta, >= 0")
      ->check(finite_in(0, 1e30))
      ->capture_default_str();
  s->add_option("--cooldown", f.cooldown, "ReduceLROnPlateau cooldown (epochs), >= 0")
      ->check(int_in(0, kMaxSteps))
      ->capture_default_str();
  s->add_option("--loss", f.loss, "keras (softmax CE on the pre-sigmoid logits, what Keras does) | normalized "
                                  "(clip-and-normalize the sigmoid outputs)")
      ->check(CLI::IsMember({"keras", "normalized"}))
      ->capture_default_str();
  s->add_option("--device", f.device, device_help)->check(CLI::IsMember({"cpu", "cuda"}))->capture_default_str();
  s->add_option("--step", f.step,
                "auto | fused | graph: forward + backward as one fused kernel or op by op through the autograd graph "
                "(auto: fused). The same named activations either way; on the CPU the same bits at the notebook's "
                "sizes")
      ->check(CLI::IsMember({"auto", "fused", "graph"}))
      ->capture_default_str();
  s->add_option("--corpus", f.corpus,
                "one sentence per line, UTF-8 (<ST> is prepended; blank lines and lines starting with # are skipped); "
                "default: the notebook's two")
      ->check(non_empty_path());
  s->add_option("--early-stop", f.early_stop,
                "stop when the loss has not improved by more than --early-stop-min-delta for PATIENCE epochs (Keras "
                "EarlyStopping(monitor='loss'), restore_best_weights=False); --epochs becomes a ceiling")
      ->check(int_in(0, kMaxSteps));
  s->add_option("--early-stop-min-delta", f.early_stop_min_delta, "EarlyStopping min_delta, >= 0")
      ->check(finite_in(0, 1e30))
      ->capture_default_str();
  add_arch_flags(s, f.arch);
  s->add_option("--solved-share", f.solved_share,
                "verdict threshold: solved when the share of the target against its strongest competitor is at least "
                "this at every judged position, in [0.5, 1]")
      ->check(finite_in(0.5, 1.0))
      ->capture_default_str();
  s->footer(kOutcomeRules);
}

// `train`'s own flags that decide a run (--H, --seed) and its snapshot flags; `sweep`'s grid flags. The commands
// and the Python module (python/module.cpp) bind them through these, so both refuse a value with the same words.
inline void add_model_flags(CLI::App* s, int64_t& H, uint64_t& seed) {
  s->add_option("--H", H, "attention head size (the notebook sweeps 10, 20, 40)")
      ->check(int_in(1, int64_t{1} << 30))
      ->capture_default_str();
  s->add_option("--seed", seed, "weight initialization seed, 0 .. 2^64-1")->check(seed_value())->capture_default_str();
}
inline void add_snapshot_flags(CLI::App* s, int64_t& every, std::string& layers) {
  s->add_option("--snapshot-every", every,
                "record --snapshot-layers at epoch 1, every N epochs and the last into the activation dump")
      ->check(int_in(0, kMaxSteps));
  s->add_option("--snapshot-layers", layers, "comma-separated layers to snapshot")->capture_default_str();
}
// --grid's words in --help (apps/lib/sweep/grid.h: parse_grid).
inline const char* kGridHelp =
    "AXIS=V1,V2,... words: the grid's axes in order (the first the slowest, then --seeds), every combination trained. "
    "Axes: H (as --H), heads, layers, ffn, norm (none|layer), wo, pos, residual, mask (true|false: pos=false is "
    "--no-pos), with the flags' ranges. Without an H axis, --H is the first axis. An axis is given in --grid or by its "
    "flag, not both; the other model flags (e.g. --ffn 16) set every grid point. E.g. --grid H=10,20,40 heads=1,2,4 "
    "layers=1,2. Grid points of the notebook's model train as fused stacks of seeds; a variant trains one model per "
    "seed on the graph step (summary.csv's path column)";

inline void add_grid_flags(CLI::App* s, std::string& hs, int64_t& seeds, uint64_t& seed_start, int& jobs,
                           std::string& shard, std::vector<std::string>& grid) {
  s->add_option("--H", hs, "comma-separated head sizes (the H axis; or --grid H=...)")->capture_default_str();
  s->add_option("--grid", grid, kGridHelp)->expected(1, -1);
  s->add_option("--seeds", seeds, "seeds per grid point, >= 1")
      ->check(int_in(1, int64_t{1} << 40))
      ->capture_default_str();
  s->add_option("--seed-start", seed_start, "first seed (seeds seed-start .. seed-start+seeds-1 must stay below 2^64)")
      ->check(seed_value())
      ->capture_default_str();
  s->add_option("--jobs", jobs, "parallel runs (0: one per core)")->check(int_in(0, 4096))->capture_default_str();
  s->add_option("--shard", shard, "run only slice i of n of the grid (grid point k goes to shard k % n + 1)")
      ->capture_default_str();
}

// The sweep's grid from --grid and --H on a parsed command: --grid's axes in their order; H from --H (first) unless
// --grid names it. An axis given both in --grid and by its flag (--H, --heads, --no-pos, ...) is refused.
inline void set_sweep_grid(SweepConfig& cfg, const CLI::App& app, const std::string& hs,
                           const std::vector<std::string>& grid) {
  std::vector<GridAxis> axes = parse_grid(grid);
  for (const GridAxis& a : axes) {
    const std::string flag = axis_flag(a.name);
    TOY_CHECK(app.get_option(flag)->count() == 0,
              "--grid {}=...: {} is also given as {} (give an axis in --grid or by its flag, not both)", a.name, a.name,
              flag);
  }
  if (std::none_of(axes.begin(), axes.end(), [](const GridAxis& a) { return a.name == "H"; }))
    axes.insert(axes.begin(), GridAxis{"H", parse_int_list(hs, "--H")});
  set_grid(cfg, axes);
}

}  // namespace toy::app
