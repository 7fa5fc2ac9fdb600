// Many models at once: M toy models stacked on a leading axis train to exactly the numbers each model gets alone
// (same seed, same device), including the plateau decisions, mini-batch shuffling, and every optimizer and loss.
#include <doctest/doctest.h>

#include "apps/lib/training/train.h"
#include "core/error.h"

using namespace toy;

namespace {

// The stack trains with `stack_activations` (TrainOptions::step_activations), each model alone with the default.
void check_stack_matches_singles(const ToyConfig& cfg, TrainOptions o, const std::vector<uint64_t>& seeds,
                                 bool stack_activations = true) {
  ToyCorpus c = notebook_corpus();
  ToyModel stack(c, cfg, o.batch, seeds);
  REQUIRE(stack.models() == static_cast<int64_t>(seeds.size()));
  TrainOptions so = o;
  so.step_activations = stack_activations;
  so.weights_in_lanes = !stack_activations;  // as sweep trains a stack
  std::vector<TrainResult> rs = train_models(stack, c, so);
  CHECK(stack.step_activations());  // the options held for that loop only
  CHECK_FALSE(stack.step_sgd());
  // As sweep's stacks, against the reference: each model alone on the op-by-op graph with the optimizer's SGD.
  TrainOptions single_o = o;
  if (!stack_activations) single_o.step = "graph";
  for (size_t i = 0; i < seeds.size(); ++i) {
    CAPTURE(seeds[i]);
    ToyConfig one = cfg;
    one.seed = seeds[i];
    ToyModel single(c, one, o.batch);
    TrainResult r = train(single, c, single_o);
    CHECK(rs[i].loss == r.loss);
    CHECK(rs[i].lr == r.lr);
    CHECK(rs[i].reductions == r.reductions);
    CHECK(rs[i].final_lr == r.final_lr);
    for (const auto& name : toy_weight_names())
      CHECK(stack.weight_of(name, static_cast<int64_t>(i)).to_vector() == single.weight(name).value().to_vector());
    for (const auto& name : toy_layer_names()) {
      CAPTURE(name);
      CHECK(stack.activation_of(name, static_cast<int64_t>(i)).to_vector() ==
            single.model().output(name).value().to_vector());
    }
  }
}

}  // namespace

TEST_CASE("toy/stack: 4 models, SGD + an eager plateau, bit-identical to training each alone") {
  TrainOptions o;
  o.epochs = 400;
  o.min_delta = 2e-3;  // reductions happen early, and at different epochs for different seeds
  o.plateau_patience = 3;
  ToyConfig cfg;
  check_stack_matches_singles(cfg, o, {1, 2, 3, 42});
}

TEST_CASE("toy/stack: Adam with the normalized loss, H=10") {
  TrainOptions o;
  o.epochs = 150;
  o.optimizer = "adam";
  o.plateau = false;
  ToyConfig cfg;
  cfg.H = 10;
  cfg.loss = LossKind::Normalized;
  check_stack_matches_singles(cfg, o, {5, 6, 7});
}

TEST_CASE("toy/stack: mini-batches of one sequence, shuffled per model, RMSprop with momentum") {
  TrainOptions o;
  o.epochs = 120;
  o.batch = 1;
  o.optimizer = "rmsprop";
  o.momentum = 0.5f;
  ToyConfig cfg;
  cfg.H = 40;
  check_stack_matches_singles(cfg, o, {9, 10});
}

TEST_CASE("toy/stack: 9 models (8 in SIMD lanes, 1 alone) without mid-run activations train as each alone") {
  // As sweep trains them: the lanes skip writing the activations each step and keep the weights between steps (SGD
  // inside the step); losses, plateau decisions and weights are the same bits as each model alone on the graph, and
  // the final forward leaves every activation as a model trained alone has it.
  TrainOptions o;
  o.epochs = 200;
  o.min_delta = 2e-3;
  o.plateau_patience = 3;
  ToyConfig cfg;
  check_stack_matches_singles(cfg, o, {1, 2, 3, 4, 5, 6, 7, 8, 9}, /*stack_activations=*/false);
}

TEST_CASE("toy/stack: weights kept in lanes: checkpoints and early stops see the current weights, the graph's bits") {
  // 17 models: two groups of eight in SIMD lanes and one alone. Early stopping freezes some models mid-run and a
  // checkpoint every 25 epochs stores every weight: both read weights that live in the lanes (synced first).
  ToyCorpus c = notebook_corpus();
  TrainOptions o;
  o.epochs = 110;
  o.min_delta = 2e-3;
  o.plateau_patience = 3;
  o.early_stop = 4;
  o.early_stop_min_delta = 1e-2;
  o.checkpoint_every = 25;
  std::vector<uint64_t> seeds;
  for (uint64_t s = 1; s <= 17; ++s) seeds.push_back(s);
  struct Run {
    std::vector<TrainResult> results;
    std::vector<TrainCheckpoint> checkpoints;
    std::vector<std::vector<float>> weights;
  };
  auto run = [&](bool lanes) {
    ToyModel m(c, ToyConfig{}, 2, seeds);
    TrainOptions ro = o;
    ro.step = lanes ? "fused" : "graph";
    ro.weights_in_lanes = lanes;
    ro.step_activations = !lanes;
    Run r;
    ro.on_checkpoint = [&](const TrainCheckpoint& ck) { r.checkpoints.push_back(ck); };
    r.results = train_models(m, c, ro);
    CHECK_FALSE(m.step_sgd());
    for (const auto& name : toy_weight_names()) r.weights.push_back(m.weight(name).value().to_vector());
    return r;
  };
  const Run lanes = run(true), graph = run(false);
  int stopped = 0;
  for (size_t i = 0; i < seeds.size(); ++i) {
    CAPTURE(i);
    CHECK(lanes.results[i].loss == graph.results[i].loss);
    CHECK(lanes.results[i].stopped_early == graph.results[i].stopped_early);
    stopped += lanes.results[i].stopped_early ? 1 : 0;
  }
  CHECK(stopped > 0);                          // the freezes happened,
  CHECK(stopped < static_cast<int>(seeds.size()));  // and some models trained on in their lanes
  CHECK(lanes.weights == graph.weights);
  REQUIRE(lanes.checkpoints.size() == graph.checkpoints.size());
  REQUIRE(lanes.checkpoints.size() >= 2);
  for (size_t k = 0; k < lanes.checkpoints.size(); ++k) {
    CAPTURE(k);
    REQUIRE(lanes.checkpoints[k].weights.size() == graph.checkpoints[k].weights.size());
    for (size_t w = 0; w < lanes.checkpoints[k].weights.size(); ++w)
      CHECK(lanes.checkpoints[k].weights[w].second.to_vector() == graph.checkpoints[k].weights[w].second.to_vector());
    for (const auto& [key, t] : lanes.checkpoints[k].optimizer)  // the step counter counts the updates made inside
      if (key == "step") CHECK(t.item() == static_cast<float>(lanes.checkpoints[k].epoch));
  }
}

TEST_CASE("toy/stack: shapes and the per-model views") {
  ToyCorpus c = notebook_corpus();
  ToyModel stack(c, ToyConfig{}, 2, {1, 2, 3});
  CHECK(stack.weight("XEmbed").shape() == Shape{21, 7});
  CHECK(stack.weight("Qmat").shape() == Shape{3, 7, 20});
  CHECK(stack.model().output("AttnWts").shape() == Shape{6, 5, 5});
  CHECK(stack.loss().shape() == Shape{3});
  CHECK(stack.weight_of("Qmat", 2).shape() == Shape{7, 20});
  CHECK(stack.activation_of("AttnWts", 1).shape() == Shape{2, 5, 5});
  CHECK(stack.activation_of("Xseqids", 2).to_vector() == std::vector<float>{0, 2, 4, 1, 3, 0, 5, 4, 1, 6});
  CHECK(stack.losses().size() == 3);
  CHECK_THROWS_WITH_AS(stack.weight_of("Qmat", 3), doctest::Contains("model 3 out of range [0, 3)"), Error);
  CHECK_THROWS_WITH_AS(stack.set_weights({}), doctest::Contains("needs a single model"), Error);
}
