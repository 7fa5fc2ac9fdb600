// A checkpoint directory (`train --checkpoint-dir D`, `train --resume D`): D/run.json records the settings that decide
// the run's numbers and how often it checkpoints; D/checkpoint.npz holds the state (apps/lib/training/checkpoint.h),
// written atomically every N epochs, so a killed run resumes bit for bit from the last complete one.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "apps/lib/training/train.h"

namespace toy {

class CheckpointDir {
 public:
  // Start one: D is created (or may exist), one that already holds a checkpoint is refused (resume it instead),
  // stale temporary files of killed writes are removed, and run.json records `settings` and `every`.
  static CheckpointDir create(const std::string& dir, int64_t every, const nlohmann::json& settings,
                              const std::string& init_weights);
  // Continue one: run.json must record the same `settings` (every difference is named), the checkpoint is loaded
  // into `state` (and refused when incomplete or inconsistent). every = 0 keeps the recorded interval.
  static CheckpointDir resume(const std::string& dir, int64_t every, const nlohmann::json& settings,
                              TrainCheckpoint& state);

  const std::string& dir() const { return dir_; }
  int64_t every() const { return every_; }
  std::string checkpoint_path() const;
  // Checkpoint into checkpoint.npz every `every()` epochs and after the last (TrainOptions::on_checkpoint).
  void attach(TrainOptions& o) const;

 private:
  CheckpointDir(std::string dir, int64_t every) : dir_(std::move(dir)), every_(every) {}
  std::string dir_;
  int64_t every_;
};

// The settings that decide a run's numbers, as a checkpoint directory's run.json records them: the training
// settings but --epochs (a resume may extend them), H, seed and the corpus' sentences. --resume refuses a run whose
// settings differ.
nlohmann::json checkpoint_settings(const TrainSettings& s, int64_t H, uint64_t seed, const ToyCorpus& corpus);

// `train`'s checkpoint flags.
struct CheckpointFlags {
  std::string resume, dir;  // --resume DIR, --checkpoint-dir DIR
  int64_t every = 0;        // --checkpoint-every N
  std::string out_dir, init_weights;  // --out and --init-weights, which must not clash with them
};
// The checkpoint directory these flags ask for: --resume DIR continues DIR (the loaded state goes to `resumed`;
// --checkpoint-dir, if given, must be DIR; no --init-weights), else --checkpoint-dir with --checkpoint-every starts
// one, else none. --out must be another directory (both write run.json). Errors name the flags.
std::optional<CheckpointDir> open_checkpoint_dir(const CheckpointFlags& f, const nlohmann::json& settings,
                                                 TrainCheckpoint& resumed);

}  // namespace toy
