// The training loop on a GPU (skipped without one): the full 5020-epoch notebook run against the CPU, the CUDA graph
// against eager launches, the fused step against the graph path, and a stack of models against each alone.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>

#include "apps/lib/training/train.h"
#include "tests/gpu_guard.h"

using namespace toy;

namespace {

ToyModel make(Device dev, int64_t batch, std::vector<uint64_t> seeds = {}, LossKind loss = LossKind::Keras) {
  ToyConfig cfg;
  cfg.device = dev;
  cfg.loss = loss;
  return ToyModel(notebook_corpus(), cfg, batch, std::move(seeds));
}

double worst_loss_diff(const TrainResult& a, const TrainResult& b) {
  REQUIRE(a.loss.size() == b.loss.size());
  double worst = 0.0;
  for (size_t e = 0; e < a.loss.size(); ++e) worst = std::max(worst, std::abs(static_cast<double>(a.loss[e]) - b.loss[e]));
  return worst;
}

}  // namespace

TEST_CASE("parity/train: 5020 epochs on the GPU (fused, CUDA graph) end within 1e-4 of the CPU's loss") {
  TOY_REQUIRE_GPU();
  ToyCorpus c = notebook_corpus();
  TrainOptions o;  // the notebook's: SGD 0.01, plateau, batch 2
  ToyModel cpu = make(Device::CPU, o.batch);
  TrainResult rc = train(cpu, c, o);
  // The plateau's reduction epochs hang on last-bit differences (FMA contraction on the GPU), so the GPU run replays
  // the CPU run's learning rates: the loss curves must then agree throughout.
  TrainOptions replay = o;
  replay.lr_schedule = rc.lr;
  ToyModel gpu = make(Device::CUDA, o.batch);
  TrainResult rg = train(gpu, c, replay);
  const double worst = worst_loss_diff(rg, rc);
  CAPTURE(worst);
  CHECK(worst <= 1e-4);
  CHECK(std::abs(rg.loss.back() - rc.loss.back()) <= 1e-4);
  // And the GPU's own plateau decisions land where the CPU's do, give or take the noise-sensitive crossing.
  ToyModel free_gpu = make(Device::CUDA, o.batch);
  TrainResult rf = train(free_gpu, c, o);
  REQUIRE(rf.reductions.size() == rc.reductions.size());
  CHECK(std::abs(rf.reductions[0] - rc.reductions[0]) <= 100);
  CHECK(std::abs(rf.loss.back() - rc.loss.back()) <= 5e-4);
}

TEST_CASE("parity/train: a CUDA graph replays to the same bits as eager launches (plateau, mini-batches, a stack)") {
  TOY_REQUIRE_GPU();
  ToyCorpus c = notebook_corpus();
  for (StepPath path : {StepPath::Fused, StepPath::Graph}) {
    CAPTURE(step_path_name(path));
    TrainOptions o;
    o.epochs = 300;
    o.batch = 1;  // two steps per epoch: a batch upload between replays
    o.step = step_path_name(path);
    o.plateau_patience = 3;
    o.min_delta = 2e-3;  // early reductions: lr changes between replays
    ToyModel eager = make(Device::CUDA, 1, {1, 2, 3}), graphed = make(Device::CUDA, 1, {1, 2, 3});
    o.cuda_graph = false;
    auto re = train_models(eager, c, o);
    o.cuda_graph = true;
    auto rg = train_models(graphed, c, o);
    for (size_t i = 0; i < re.size(); ++i) {
      CHECK(re[i].loss == rg[i].loss);
      CHECK(re[i].reductions == rg[i].reductions);
      CHECK_FALSE(re[i].reductions.empty());
    }
    for (const auto& name : toy_weight_names())
      CHECK(eager.weight(name).value().to_vector() == graphed.weight(name).value().to_vector());
  }
}

TEST_CASE("parity/train: on the GPU the fused step follows the graph path, and a stack equals its models alone") {
  TOY_REQUIRE_GPU();
  ToyCorpus c = notebook_corpus();
  for (LossKind loss : {LossKind::Keras, LossKind::Normalized}) {
    CAPTURE(loss_name(loss));
    TrainOptions o;
    o.epochs = 300;
    o.plateau = false;
    o.optimizer = "adam";
    ToyModel fused = make(Device::CUDA, 2, {4, 5}, loss), graph = make(Device::CUDA, 2, {4, 5}, loss);
    o.step = "fused";
    auto rf = train_models(fused, c, o);
    o.step = "graph";
    auto rg = train_models(graph, c, o);
    for (size_t i = 0; i < rf.size(); ++i) CHECK(worst_loss_diff(rf[i], rg[i]) <= 1e-4);
    // The fused kernel gives each model its own block: model 1 of the stack is bit-identical to seed 5 alone.
    ToyModel alone = make(Device::CUDA, 2, {5}, loss);
    o.step = "fused";
    TrainResult ra = train(alone, c, o);
    CHECK(ra.loss == rf[1].loss);
    for (const auto& name : toy_weight_names())
      CHECK(fused.weight_of(name, 1).to_vector() == alone.weight(name).value().to_vector());
  }
}
