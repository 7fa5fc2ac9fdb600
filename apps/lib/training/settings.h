// The settings that decide how the toy model trains: one struct for `train`, `sweep`, the Python module, run.json,
// checkpoint records, sweep.json and the resume check. The commands bind their flags straight to these fields
// (apps/training_flags.h), JSON reads and writes them through one mapping (to_json / from_json below), and
// validate() checks them once, whoever filled them in.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "core/device.h"
#include "layers/toy_model.h"
#include "optim/early_stopping.h"
#include "optim/plateau.h"

namespace toy {

// Forward + backward of a training step: the fused kernel (layers/toy_step.h: one launch, every named activation
// still written) or the op-by-op autograd graph. Auto: fused on both devices: on CUDA ~50 tiny launches would cost
// far more than their arithmetic; on the CPU the fused step (layers/toy_step_cpu.cpp) is ~1.4x faster than the
// graph's ~50 kernel calls. On the CPU both give the same bits where the graph's products are direct loops (the
// notebook's sizes); where the graph hands a large product to Eigen they agree to float rounding.
enum class StepPath { Auto, Fused, Graph };
StepPath parse_step_path(const std::string& s);  // "auto" | "fused" | "graph"
const char* step_path_name(StepPath p);
// Whether a step on `device` runs the fused kernel: auto and fused do, for the notebook's model (the fused step
// computes only it); a variant runs the graph under auto and refuses fused (the error names --step).
bool step_is_fused(StepPath p, Device device, const ToyArch& arch = {});

// The optimizer counts its steps in float32 (Adam's bias correction reads the count): exact up to 2^24 updates, so
// a run may take at most that many.
constexpr int64_t kMaxSteps = int64_t{1} << 24;
// Refuses epochs x steps_per_epoch above kMaxSteps, naming --epochs and --batch.
void check_step_limit(int64_t epochs, int64_t steps_per_epoch);

struct TrainSettings {
  int64_t epochs = 5020;
  int64_t batch = 2;              // sequences per step (the notebook: 2, the whole corpus)
  std::string optimizer = "sgd";  // sgd | rmsprop | adam (Keras 2.10 legacy formulas)
  float lr = -1;                  // <= 0: the optimizer's Keras default (sgd 0.01, rmsprop/adam 0.001); JSON null
  float momentum = 0;             // sgd, rmsprop
  bool nesterov = false;          // sgd
  bool plateau = true;            // ReduceLROnPlateau, the notebook's: factor 0.2, patience 10, min_lr 1e-4
  double plateau_factor = 0.2;
  int64_t plateau_patience = 10;
  double min_lr = 1e-4, min_delta = 1e-4;
  int64_t cooldown = 0;
  std::string loss = "keras";     // keras | normalized (layers/toy_model.h: LossKind)
  std::string device = "cpu";     // cpu | cuda
  std::string step = "auto";      // auto | fused | graph (StepPath)
  int64_t early_stop = -1;        // Keras EarlyStopping(monitor='loss') patience; < 0: off (absent from JSON)
  double early_stop_min_delta = 0;
  ToyArch arch;                   // the model variant (--heads --wo --layers --ffn --norm --no-pos --no-residual
                                  // --no-mask); JSON keys only for a variant, so the notebook's records are unchanged

  PlateauOptions plateau_options() const {
    return PlateauOptions{plateau_factor, plateau_patience, min_lr, min_delta, cooldown};
  }
  EarlyStopOptions early_stop_options() const { return EarlyStopOptions{early_stop, early_stop_min_delta}; }
  StepPath step_path() const { return parse_step_path(step); }
  // Every field in its range (the flags' ranges, apps/training_flags.h), with the flag's name in the message. The
  // command line checks the text before this; settings from JSON or from Python pass through here too.
  void validate() const;
};

// The toy model these settings train, of head size H with weights from `seed` (the loss and device are settings).
inline ToyConfig toy_config(const TrainSettings& s, int64_t H, uint64_t seed) {
  ToyConfig cfg;
  cfg.H = H;
  cfg.arch = s.arch;
  cfg.loss = parse_loss(s.loss);
  cfg.seed = seed;
  cfg.device = parse_device(s.device.c_str());
  return cfg;
}

// The settings as run.json's "config" / a checkpoint's "settings" / sweep.json's "config" hold them: one key per
// field, lr null for the default, early_stop and early_stop_min_delta only when early stopping is on (records
// written before it existed read back unchanged). from_json: a missing key keeps the default; errors name the key.
void to_json(nlohmann::json& j, const TrainSettings& s);
void from_json(const nlohmann::json& j, TrainSettings& s);

}  // namespace toy
