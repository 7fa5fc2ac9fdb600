// Checkpoint directories: run.json (the settings) and checkpoint.npz (the state).
#include "apps/lib/training/checkpoint_dir.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <filesystem>
#include <vector>

#include "apps/lib/formats/fs_util.h"
#include "apps/lib/training/checkpoint.h"
#include "core/error.h"

namespace toy {
namespace fs = std::filesystem;

CheckpointDir CheckpointDir::create(const std::string& dir, int64_t every, const nlohmann::json& settings,
                                    const std::string& init_weights) {
  TOY_CHECK(!dir.empty() && every > 0, "--checkpoint-every N and --checkpoint-dir DIR go together");
  make_dirs(dir);
  TOY_CHECK(!fs::exists(fs::path(dir) / "checkpoint.npz"),
            "--checkpoint-dir {} already holds a checkpoint: continue it with --resume {}, or choose another "
            "directory", dir, dir);
  remove_stale_temps(dir);
  nlohmann::json rec{{"kind", "toyformer-checkpoint"}, {"settings", settings}, {"checkpoint_every", every},
                     {"init_weights", init_weights.empty() ? nlohmann::json(nullptr) : nlohmann::json(init_weights)}};
  write_file_atomic((fs::path(dir) / "run.json").string(), rec.dump(1) + "\n");
  return CheckpointDir(dir, every);
}

CheckpointDir CheckpointDir::resume(const std::string& dir, int64_t every, const nlohmann::json& settings,
                                    TrainCheckpoint& state) {
  const std::string jpath = (fs::path(dir) / "run.json").string();
  TOY_CHECK(fs::exists(jpath), "--resume {}: no run.json (not a checkpoint directory of toyformer train "
            "--checkpoint-dir)", dir);
  nlohmann::json stored;
  try {
    stored = nlohmann::json::parse(read_file(jpath));
  } catch (const nlohmann::json::exception& e) {
    fail("--resume {}: {} is not valid JSON: {}", dir, jpath, e.what());
  }
  TOY_CHECK(stored.is_object() && stored.value("kind", "") == "toyformer-checkpoint" && stored.contains("settings") &&
                stored["settings"].is_object(),
            "--resume {}: {} is not a toyformer checkpoint record", dir, jpath);
  std::vector<std::string> diffs;
  for (const auto& [k, v] : settings.items()) {
    const nlohmann::json& was = stored["settings"].contains(k) ? stored["settings"][k] : nlohmann::json(nullptr);
    if (was != v) diffs.push_back(fmt::format("{} was {}, now {}", k, was.dump(), v.dump()));
  }
  for (const auto& [k, was] : stored["settings"].items())  // a variant's keys, absent for the notebook's model
    if (!settings.contains(k)) diffs.push_back(fmt::format("{} was {}, now the default", k, was.dump()));
  TOY_CHECK(diffs.empty(), "--resume {}: the settings differ from the checkpointed run ({}); a resume must use the "
            "same flags (only --epochs and the output flags may change)", dir, fmt::join(diffs, "; "));
  remove_stale_temps(dir);
  TrainSettings s;
  from_json(settings, s);
  state = load_checkpoint((fs::path(dir) / "checkpoint.npz").string(), toy_weight_names(s.arch));
  if (every == 0) {
    const nlohmann::json& e = stored.contains("checkpoint_every") ? stored["checkpoint_every"] : nlohmann::json(0);
    TOY_CHECK(e.is_number_integer() && e.get<int64_t>() >= 0, "--resume {}: {}: checkpoint_every is not a count",
              dir, jpath);
    every = e.get<int64_t>();
  }
  return CheckpointDir(dir, every);
}

std::string CheckpointDir::checkpoint_path() const { return (fs::path(dir_) / "checkpoint.npz").string(); }

void CheckpointDir::attach(TrainOptions& o) const {
  if (every_ <= 0) return;
  o.checkpoint_every = every_;
  o.on_checkpoint = [path = checkpoint_path()](const TrainCheckpoint& ck) { save_checkpoint(path, ck); };
}

nlohmann::json checkpoint_settings(const TrainSettings& s, int64_t H, uint64_t seed, const ToyCorpus& corpus) {
  std::vector<std::string> sentences;
  for (const auto& seq : corpus.seqs) {
    std::string line;
    for (int64_t id : seq) line += (line.empty() ? "" : " ") + corpus.vocab[static_cast<size_t>(id)];
    sentences.push_back(line);
  }
  nlohmann::json j = s;
  j.erase("epochs");  // a resume may extend them
  j["H"] = H;
  j["seed"] = seed;
  j["corpus"] = sentences;
  return j;
}

std::optional<CheckpointDir> open_checkpoint_dir(const CheckpointFlags& f, const nlohmann::json& settings,
                                                 TrainCheckpoint& resumed) {
  auto norm = [](const std::string& p) {
    std::string s = fs::absolute(p).lexically_normal().string();
    while (s.size() > 1 && s.back() == '/') s.pop_back();
    return s;
  };
  const std::string dir = f.resume.empty() ? f.dir : f.resume;
  TOY_CHECK(dir.empty() || f.out_dir.empty() || norm(dir) != norm(f.out_dir),
            "--out {} and the checkpoint directory must differ (both write run.json)", f.out_dir);
  if (!f.resume.empty()) {
    TOY_CHECK(f.dir.empty() || fs::path(f.dir) == fs::path(f.resume),
              "--resume {} keeps checkpointing into {}: drop --checkpoint-dir {}", f.resume, f.resume, f.dir);
    TOY_CHECK(f.init_weights.empty(), "--resume takes the weights from the checkpoint: drop --init-weights");
    return CheckpointDir::resume(f.resume, f.every, settings, resumed);
  }
  if (!f.dir.empty() || f.every > 0) return CheckpointDir::create(f.dir, f.every, settings, f.init_weights);
  return std::nullopt;
}

}  // namespace toy
