// The flags that decide how the toy model trains, shared by `train` and `sweep` (so both accept the same ones with
// the same defaults: the notebook's).
#pragma once
#include <CLI/CLI.hpp>
#include <cstdint>
#include <nlohmann/json.hpp>

#include "apps/lib/train.h"
#include <string>

namespace toy::app {

struct TrainingFlags {
  int64_t epochs = 5020, batch = 2;
  std::string optimizer = "sgd", loss = "keras", device = "cpu", step = "auto", corpus;
  float lr = -1, momentum = 0;  // lr < 0: the optimizer's Keras default
  bool nesterov = false, no_plateau = false;
  double plateau_factor = 0.2, min_lr = 1e-4, min_delta = 1e-4;
  int64_t plateau_patience = 10, cooldown = 0;

  PlateauOptions plateau_options() const {
    return PlateauOptions{plateau_factor, plateau_patience, min_lr, min_delta, cooldown};
  }
  // The training loop's options these flags decide (callbacks, checkpoints and schedules are the caller's).
  TrainOptions train_options() const {
    TrainOptions o;
    o.epochs = epochs;
    o.batch = batch;
    o.optimizer = optimizer;
    o.lr = lr;
    o.momentum = momentum;
    o.nesterov = nesterov;
    o.plateau = !no_plateau;
    o.plateau_opts = plateau_options();
    o.step = parse_step_path(step);
    return o;
  }
};

// The flags that decide a run's numbers, as JSON (run.json, checkpoint settings, reports); --epochs and --corpus
// are left to the caller (a resume may extend the epochs; the corpus is recorded as sentences or a path).
inline nlohmann::json training_settings(const TrainingFlags& f) {
  return {{"batch", f.batch},
          {"optimizer", f.optimizer},
          {"lr", f.lr < 0 ? nlohmann::json(nullptr) : nlohmann::json(f.lr)},
          {"momentum", f.momentum},
          {"nesterov", f.nesterov},
          {"plateau", !f.no_plateau},
          {"plateau_factor", f.plateau_factor},
          {"plateau_patience", f.plateau_patience},
          {"min_lr", f.min_lr},
          {"min_delta", f.min_delta},
          {"cooldown", f.cooldown},
          {"loss", f.loss},
          {"device", f.device},
          {"step", f.step}};
}

// --epochs --batch --optimizer --lr --momentum --nesterov --no-plateau --plateau-factor --plateau-patience --min-lr
// --min-delta --cooldown --loss --device --step --corpus
inline void add_training_flags(CLI::App* s, TrainingFlags& f, const std::string& device_help = "cpu | cuda") {
  s->add_option("--epochs", f.epochs, "training epochs")->capture_default_str();
  s->add_option("--batch", f.batch, "sequences per step (must divide the corpus size)")->capture_default_str();
  s->add_option("--optimizer", f.optimizer, "sgd | rmsprop | adam (Keras 2 defaults)")
      ->check(CLI::IsMember({"sgd", "rmsprop", "adam"}))
      ->capture_default_str();
  s->add_option("--lr", f.lr, "learning rate (default: sgd 0.01, rmsprop/adam 0.001)");
  s->add_option("--momentum", f.momentum, "momentum (sgd, rmsprop)")->capture_default_str();
  s->add_flag("--nesterov", f.nesterov, "Nesterov momentum (sgd)");
  s->add_flag("--no-plateau", f.no_plateau, "disable ReduceLROnPlateau");
  s->add_option("--plateau-factor", f.plateau_factor, "ReduceLROnPlateau factor")->capture_default_str();
  s->add_option("--plateau-patience", f.plateau_patience, "ReduceLROnPlateau patience (epochs)")->capture_default_str();
  s->add_option("--min-lr", f.min_lr, "ReduceLROnPlateau min_lr")->capture_default_str();
  s->add_option("--min-delta", f.min_delta, "ReduceLROnPlateau min_delta")->capture_default_str();
  s->add_option("--cooldown", f.cooldown, "ReduceLROnPlateau cooldown (epochs)")->capture_default_str();
  s->add_option("--loss", f.loss, "keras (softmax CE on the pre-sigmoid logits, what Keras does) | normalized "
                                  "(clip-and-normalize the sigmoid outputs)")
      ->check(CLI::IsMember({"keras", "normalized"}))
      ->capture_default_str();
  s->add_option("--device", f.device, device_help)->check(CLI::IsMember({"cpu", "cuda"}))->capture_default_str();
  s->add_option("--step", f.step,
                "auto | fused | graph: forward + backward as one fused kernel or op by op through the autograd graph "
                "(auto: fused on cuda, graph on cpu). The same named activations either way; on the CPU the same "
                "bits at the notebook's sizes")
      ->check(CLI::IsMember({"auto", "fused", "graph"}))
      ->capture_default_str();
  s->add_option("--corpus", f.corpus, "one sentence per line (<ST> is prepended); default: the notebook's two");
}

}  // namespace toy::app
