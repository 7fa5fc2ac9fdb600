// The training settings: JSON mapping and validation.
#include "apps/lib/training/settings.h"

#include <cmath>

#include "core/error.h"

namespace toy {

StepPath parse_step_path(const std::string& s) {
  if (s == "auto") return StepPath::Auto;
  if (s == "fused") return StepPath::Fused;
  if (s == "graph") return StepPath::Graph;
  fail("step: unknown '{}' (expected auto, fused or graph)", s);
}

const char* step_path_name(StepPath p) {
  return p == StepPath::Auto ? "auto" : p == StepPath::Fused ? "fused" : "graph";
}

bool step_is_fused(StepPath p, Device, const ToyArch& arch) {
  TOY_CHECK(p != StepPath::Fused || arch.notebook(),
            "--step fused: the fused step computes the notebook's model only, not the variant '{}' (use --step auto "
            "or graph)", arch.describe());
  // The fused step is the faster on both devices, and on the CPU gives the graph's bits.
  return p != StepPath::Graph && arch.notebook();
}

void check_step_limit(int64_t epochs, int64_t steps_per_epoch) {
  TOY_CHECK(steps_per_epoch >= 1 && epochs <= kMaxSteps / steps_per_epoch,
            "--epochs {} x {} steps per epoch exceed 2^24 = 16777216 updates (the optimizer counts steps in float32); "
            "use fewer epochs or a larger --batch", epochs, steps_per_epoch);
}

void TrainSettings::validate() const {
  auto in = [](double v, double lo, double hi) { return std::isfinite(v) && v >= lo && v <= hi; };
  TOY_CHECK(epochs >= 0 && epochs <= kMaxSteps, "--epochs must be in [0, {}], got {}", kMaxSteps, epochs);
  TOY_CHECK(batch >= 1, "--batch must be >= 1, got {}", batch);
  TOY_CHECK(optimizer == "sgd" || optimizer == "rmsprop" || optimizer == "adam",
            "--optimizer: unknown '{}' (sgd, rmsprop or adam)", optimizer);
  TOY_CHECK(lr < 0 || (lr > 0 && std::isfinite(lr)), "--lr must be > 0 (or the default), got {}", lr);
  TOY_CHECK(in(momentum, 0, 1) && momentum < 1, "--momentum must be in [0, 1), got {}", momentum);
  TOY_CHECK(in(plateau_factor, 0, 1) && plateau_factor > 0 && plateau_factor < 1,
            "--plateau-factor must be in (0, 1), got {}", plateau_factor);
  TOY_CHECK(plateau_patience >= 0 && cooldown >= 0, "--plateau-patience and --cooldown must be >= 0, got {} and {}",
            plateau_patience, cooldown);
  TOY_CHECK(in(min_lr, 0, 1e30) && in(min_delta, 0, 1e30), "--min-lr and --min-delta must be finite and >= 0, got {} "
            "and {}", min_lr, min_delta);
  TOY_CHECK(loss == "keras" || loss == "normalized", "--loss: unknown '{}' (keras or normalized)", loss);
  TOY_CHECK(device == "cpu" || device == "cuda", "--device: unknown '{}' (cpu or cuda)", device);
  (void)parse_step_path(step);
  TOY_CHECK(early_stop >= -1 && early_stop <= kMaxSteps, "--early-stop must be in [0, {}], got {}", kMaxSteps,
            early_stop);
  TOY_CHECK(in(early_stop_min_delta, 0, 1e30), "--early-stop-min-delta must be finite and >= 0, got {}",
            early_stop_min_delta);
  arch.validate();
  (void)step_is_fused(parse_step_path(step), Device::CPU, arch);
}

void to_json(nlohmann::json& j, const TrainSettings& s) {
  j = {{"epochs", s.epochs},
       {"batch", s.batch},
       {"optimizer", s.optimizer},
       {"lr", s.lr < 0 ? nlohmann::json(nullptr) : nlohmann::json(s.lr)},
       {"momentum", s.momentum},
       {"nesterov", s.nesterov},
       {"plateau", s.plateau},
       {"plateau_factor", s.plateau_factor},
       {"plateau_patience", s.plateau_patience},
       {"min_lr", s.min_lr},
       {"min_delta", s.min_delta},
       {"cooldown", s.cooldown},
       {"loss", s.loss},
       {"device", s.device},
       {"step", s.step}};
  if (s.early_stop >= 0) {
    j["early_stop"] = s.early_stop;
    j["early_stop_min_delta"] = s.early_stop_min_delta;
  }
  if (!s.arch.notebook()) {
    const ToyArch& a = s.arch;
    j["heads"] = a.heads, j["wo"] = a.wo, j["layers"] = a.layers, j["ffn"] = a.ffn;
    j["norm"] = a.norm ? "layer" : "none", j["pos"] = a.pos, j["residual"] = a.residual, j["mask"] = a.mask;
  }
}

void from_json(const nlohmann::json& j, TrainSettings& s) {
  TOY_CHECK(j.is_object(), "settings: expected a JSON object, got {}", j.type_name());
  auto read = [&](const char* key, auto& field) {
    if (!j.contains(key)) return;
    try {
      j.at(key).get_to(field);
    } catch (const nlohmann::json::exception& e) {
      fail("settings: '{}': {}", key, e.what());
    }
  };
  read("epochs", s.epochs);
  read("batch", s.batch);
  read("optimizer", s.optimizer);
  if (j.contains("lr") && !j.at("lr").is_null()) read("lr", s.lr);
  read("momentum", s.momentum);
  read("nesterov", s.nesterov);
  read("plateau", s.plateau);
  read("plateau_factor", s.plateau_factor);
  read("plateau_patience", s.plateau_patience);
  read("min_lr", s.min_lr);
  read("min_delta", s.min_delta);
  read("cooldown", s.cooldown);
  read("loss", s.loss);
  read("device", s.device);
  read("step", s.step);
  read("early_stop", s.early_stop);
  read("early_stop_min_delta", s.early_stop_min_delta);
  read("heads", s.arch.heads);
  read("wo", s.arch.wo);
  read("layers", s.arch.layers);
  read("ffn", s.arch.ffn);
  if (j.contains("norm")) {
    std::string norm;
    read("norm", norm);
    TOY_CHECK(norm == "none" || norm == "layer", "settings: 'norm': unknown '{}' (none or layer)", norm);
    s.arch.norm = norm == "layer";
  }
  read("pos", s.arch.pos);
  read("residual", s.arch.residual);
  read("mask", s.arch.mask);
}

}  // namespace toy
