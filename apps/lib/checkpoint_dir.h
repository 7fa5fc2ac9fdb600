// A checkpoint directory (`train --checkpoint-dir D`, `train --resume D`): D/run.json records the settings that decide
// the run's numbers and how often it checkpoints; D/checkpoint.npz holds the state (apps/lib/checkpoint.h), written
// atomically every N epochs, so a killed run resumes bit for bit from the last complete one.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "apps/lib/train.h"

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

}  // namespace toy
