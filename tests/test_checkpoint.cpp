// Checkpoints: a run resumed from any checkpoint is bit-identical to the uninterrupted run.
#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>

#include "apps/lib/training/checkpoint.h"
#include "core/error.h"
#include "core/npz.h"

using namespace toy;

namespace {

struct Run {
  std::vector<TrainResult> results;
  std::vector<std::vector<float>> weights;
};

Run run(TrainOptions o, const std::vector<uint64_t>& seeds, const TrainCheckpoint* resume = nullptr,
        std::vector<TrainCheckpoint>* saved = nullptr) {
  ToyCorpus c = notebook_corpus();
  ToyModel m(c, ToyConfig{}, o.batch, seeds);
  o.resume = resume;
  if (saved) {
    o.checkpoint_every = 70;
    o.on_checkpoint = [&](const TrainCheckpoint& ck) { saved->push_back(ck); };
  }
  Run r{train_models(m, c, o), {}};
  for (const auto& name : toy_weight_names()) r.weights.push_back(m.weight(name).value().to_vector());
  return r;
}

}  // namespace

TEST_CASE("checkpoint/resume: continuing from a checkpoint file is bit-identical (SGD momentum, plateau, shuffle)") {
  TrainOptions o;
  o.epochs = 300;
  o.batch = 1;  // two shuffled steps per epoch: the RNG state matters
  o.momentum = 0.9f;
  o.min_delta = 1e-2;
  o.plateau_patience = 4;
  o.cooldown = 2;
  const std::vector<uint64_t> seeds{3, 4};
  std::vector<TrainCheckpoint> saved;
  Run full = run(o, seeds, nullptr, &saved);
  REQUIRE(saved.size() == 5);  // epochs 70, 140, 210, 280 and the last (300)
  CHECK(saved[1].epoch == 140);
  CHECK_FALSE(full.results[0].reductions.empty());

  const std::string path =
      (std::filesystem::temp_directory_path() / ("toy_ck_" + std::to_string(::getpid()) + ".npz")).string();
  save_checkpoint(path, saved[1]);
  TrainCheckpoint loaded = load_checkpoint(path);
  CHECK(loaded.epoch == 140);
  Run resumed = run(o, seeds, &loaded);
  for (size_t m = 0; m < seeds.size(); ++m) {
    CHECK(resumed.results[m].loss == full.results[m].loss);
    CHECK(resumed.results[m].lr == full.results[m].lr);
    CHECK(resumed.results[m].reductions == full.results[m].reductions);
  }
  CHECK(resumed.weights == full.weights);
  std::filesystem::remove(path);
}

TEST_CASE("checkpoint/resume: Adam's moments and step counter are restored") {
  TrainOptions o;
  o.epochs = 150;
  o.optimizer = "adam";
  o.plateau = false;
  std::vector<TrainCheckpoint> saved;
  Run full = run(o, {8}, nullptr, &saved);
  Run resumed = run(o, {8}, &saved[0]);
  CHECK(resumed.results[0].loss == full.results[0].loss);
  CHECK(resumed.weights == full.weights);
}

TEST_CASE("checkpoint/load: a file that is not a checkpoint is refused naming the file") {
  const std::string path =
      (std::filesystem::temp_directory_path() / ("toy_notck_" + std::to_string(::getpid()) + ".npz")).string();
  save_npz(path, {{"x", Tensor::zeros(Shape{2})}});
  CHECK_THROWS_WITH_AS(load_checkpoint(path), doctest::Contains("missing 'checkpoint/version'"), Error);
  std::filesystem::remove(path);
}
