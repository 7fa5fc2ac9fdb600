// How the training loop reads the step losses (TrainOptions::loss_read): once per step, or gathered on the device and
// read once per epoch. Both must give the same loss history bit for bit: on the CPU here (the bookkeeping: buffer
// rows, summation order, stacks, mini-batches, early stopping), and on a GPU, where the per-epoch read is the default.
#include <doctest/doctest.h>

#include "apps/lib/training/train.h"
#include "tests/gpu_guard.h"

using namespace toy;

namespace {

struct Run {
  std::vector<TrainResult> results;
  std::vector<std::vector<float>> weights;
};

// A stack of three models with two steps per epoch (batch 1 of the notebook's two sentences, shuffled per epoch), a
// large lr and an early plateau so learning rates change between epochs, and early stopping so that at 120 epochs
// seeds 2 and 3 have stopped (near epochs 82 and 94) while seed 1 trains on.
Run train_with(Device dev, LossRead read, StepPath path, int64_t epochs) {
  ToyCorpus c = notebook_corpus();
  TrainOptions o;
  o.epochs = epochs;
  o.batch = 1;
  o.step = step_path_name(path);
  o.lr = 0.5f;
  o.plateau_patience = 3;
  o.min_delta = 2e-3;
  o.early_stop = 20;
  o.early_stop_min_delta = 1e-4;
  o.loss_read = read;
  ToyConfig cfg;
  cfg.device = dev;
  ToyModel m(c, cfg, o.batch, {1, 2, 3});
  Run r;
  r.results = train_models(m, c, o);
  for (const auto& name : toy_weight_names()) r.weights.push_back(m.weight(name).value().to_vector());
  return r;
}

void check_same(const Run& a, const Run& b) {
  REQUIRE(a.results.size() == b.results.size());
  for (size_t i = 0; i < a.results.size(); ++i) {
    CAPTURE(i);
    CHECK(a.results[i].loss == b.results[i].loss);
    CHECK(a.results[i].lr == b.results[i].lr);
    CHECK(a.results[i].reductions == b.results[i].reductions);
    CHECK(a.results[i].steps == b.results[i].steps);
    CHECK(a.results[i].stopped_early == b.results[i].stopped_early);
  }
  CHECK(a.weights == b.weights);
}

}  // namespace

TEST_CASE("train/loss_read: reading the losses once per epoch gives the per-step history bit for bit (CPU)") {
  const Run per_step = train_with(Device::CPU, LossRead::PerStep, StepPath::Graph, 120);
  // The run must exercise what it claims: lr reductions, and a model stopping early while others go on.
  bool reduced = false, stopped = false, ran_on = false;
  for (const auto& r : per_step.results) {
    reduced = reduced || !r.reductions.empty();
    stopped = stopped || r.stopped_early;
    ran_on = ran_on || !r.stopped_early;
  }
  CHECK(reduced);
  CHECK(stopped);
  CHECK(ran_on);
  check_same(train_with(Device::CPU, LossRead::PerEpoch, StepPath::Graph, 120), per_step);
  check_same(train_with(Device::CPU, LossRead::Auto, StepPath::Graph, 120), per_step);
  check_same(train_with(Device::CPU, LossRead::PerEpoch, StepPath::Fused, 120),
             train_with(Device::CPU, LossRead::PerStep, StepPath::Fused, 120));
}

TEST_CASE("parity/train: on the GPU the per-epoch loss read (the default) gives the per-step history bit for bit") {
  TOY_REQUIRE_GPU();
  for (StepPath path : {StepPath::Fused, StepPath::Graph}) {
    CAPTURE(step_path_name(path));
    const Run per_step = train_with(Device::CUDA, LossRead::PerStep, path, 120);
    check_same(train_with(Device::CUDA, LossRead::Auto, path, 120), per_step);
    check_same(train_with(Device::CUDA, LossRead::PerEpoch, path, 120), per_step);
  }
}
