// The fused toy step (layers/toy_step.h) against the op-by-op graph: on the CPU it must give the same bits at the
// notebook's sizes (activations, loss, weight gradients, whole training runs), agree within float tolerance at
// sizes where the graph's products go through Eigen, match finite differences of its own loss, and not depend on
// how many threads run its phases or in which order (what makes the one-block CUDA kernel race-free).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "apps/lib/training/train.h"
#include "core/error.h"
#include "core/rng.h"
#include "layers/toy_step.h"
#include "optim/optimizer.h"
#include "tests/gpu_guard.h"

using namespace toy;

namespace {

// Every named layer output that the step writes, the loss, and the weights' gradients, as host vectors.
std::vector<std::pair<std::string, std::vector<float>>> step_results(ToyModel& m) {
  std::vector<std::pair<std::string, std::vector<float>>> out;
  for (const auto& name : toy_layer_names()) out.push_back({name, m.model().output(name).value().to_vector()});
  out.push_back({"loss", m.loss().value().to_vector()});
  for (const auto& name : toy_weight_names()) out.push_back({"grad/" + name, m.weight(name).grad().to_vector()});
  return out;
}

void check_same_bits(ToyModel& a, ToyModel& b) {
  auto ra = step_results(a), rb = step_results(b);
  REQUIRE(ra.size() == rb.size());
  for (size_t i = 0; i < ra.size(); ++i) {
    CAPTURE(ra[i].first);
    CHECK(ra[i].second == rb[i].second);
  }
}

// |a - b| <= atol + rtol |b| element-wise, for every result.
void check_close(ToyModel& a, ToyModel& b, float atol, float rtol) {
  auto ra = step_results(a), rb = step_results(b);
  REQUIRE(ra.size() == rb.size());
  for (size_t i = 0; i < ra.size(); ++i) {
    CAPTURE(ra[i].first);
    REQUIRE(ra[i].second.size() == rb[i].second.size());
    float worst = 0.0f;
    for (size_t j = 0; j < ra[i].second.size(); ++j) {
      const float x = ra[i].second[j], y = rb[i].second[j];
      REQUIRE(std::isfinite(x));
      worst = std::max(worst, std::abs(x - y) - (atol + rtol * std::abs(y)));
    }
    CHECK(worst <= 0.0f);
  }
}

// Replace every weight with uniform(-range, range) values (the same for every model built with the same `seed`), so the
// attention gradients are far above the absolute tolerance (at the Keras initialization they are ~1e-8).
void randomize_weights(ToyModel& m, uint64_t seed, float range = 1.0f) {
  Rng rng(seed);
  for (const auto& name : toy_weight_names()) {
    Tensor& w = m.weight(name).value();
    w.copy_from(init::uniform(w.shape(), rng, -range, range).to(w.device()));
  }
}

ToyCorpus longer_corpus() {
  return parse_corpus(
      "the quick brown fox jumps over the lazy dog today\n"
      "a slow red fox walks under the busy bridge tonight\n"
      "the lazy dog sleeps under a quick red sun again\n",
      "test corpus");
}

}  // namespace

TEST_CASE("toy_step: CPU fused step is bit-identical to the graph at the notebook's sizes") {
  ToyCorpus c = notebook_corpus();
  for (int64_t H : {1, 10, 20, 40})
    for (LossKind loss : {LossKind::Keras, LossKind::Normalized})
      for (int64_t batch : {2, 1})
        for (std::vector<uint64_t> seeds : {std::vector<uint64_t>{7}, std::vector<uint64_t>{1, 2, 3}}) {
          CAPTURE(H);
          CAPTURE(loss_name(loss));
          CAPTURE(batch);
          CAPTURE(seeds.size());
          ToyConfig cfg;
          cfg.H = H, cfg.loss = loss;
          ToyModel graph(c, cfg, batch, seeds), fused(c, cfg, batch, seeds);
          graph.forward_backward(false);
          fused.forward_backward(true);
          check_same_bits(graph, fused);
        }
}

TEST_CASE("toy_step: 300 epochs of SGD + plateau, and Adam mini-batches, train to the same bits fused or not") {
  ToyCorpus c = notebook_corpus();
  for (const char* optimizer : {"sgd", "adam"}) {
    CAPTURE(optimizer);
    TrainOptions o;
    o.epochs = 300;
    o.optimizer = optimizer;
    o.batch = std::string(optimizer) == "adam" ? 1 : 2;
    o.plateau_patience = 3;
    o.min_delta = 2e-3;
    ToyConfig cfg;
    ToyModel graph(c, cfg, o.batch, {1, 2}), fused(c, cfg, o.batch, {1, 2});
    o.step = "graph";
    auto rg = train_models(graph, c, o);
    o.step = "fused";
    auto rf = train_models(fused, c, o);
    for (size_t i = 0; i < rg.size(); ++i) {
      CHECK(rg[i].loss == rf[i].loss);
      CHECK(rg[i].reductions == rf[i].reductions);
    }
    for (const auto& name : toy_weight_names())
      CHECK(graph.weight(name).value().to_vector() == fused.weight(name).value().to_vector());
  }
}

TEST_CASE("toy_step: larger shapes (the graph's products through Eigen) agree within float tolerance") {
  ToyCorpus c = longer_corpus();
  for (int64_t H : {33, 96})
    for (LossKind loss : {LossKind::Keras, LossKind::Normalized}) {
      CAPTURE(H);
      CAPTURE(loss_name(loss));
      ToyConfig cfg;
      cfg.H = H, cfg.loss = loss;
      ToyModel graph(c, cfg, 3, {4, 5}), fused(c, cfg, 3, {4, 5});
      randomize_weights(graph, 9);
      randomize_weights(fused, 9);
      graph.forward_backward(false);
      fused.forward_backward(true);
      check_close(graph, fused, 1e-6f, 1e-4f);
    }
}

TEST_CASE("toy_step: the fused gradients match central differences of the fused loss") {
  ToyCorpus c = notebook_corpus();
  for (LossKind loss : {LossKind::Keras, LossKind::Normalized}) {
    CAPTURE(loss_name(loss));
    ToyConfig cfg;
    cfg.H = 6, cfg.loss = loss;
    ToyModel m(c, cfg, 2);
    randomize_weights(m, 11);  // away from the tiny initial embeddings: every gradient well above the noise
    m.forward_backward(true);
    for (const auto& name : toy_weight_names()) {
      CAPTURE(name);
      // Along the weight's own gradient direction u = g/|g|: d/dh L(w + h u) at 0 is |g|. One direction per tensor
      // sums every element's signal, far above the float32 noise of single-element differences.
      Tensor& w = m.weight(name).value();
      const std::vector<float> w0 = w.to_vector(), g = m.weight(name).grad().to_vector();
      double norm = 0.0;
      for (float v : g) norm += static_cast<double>(v) * v;
      norm = std::sqrt(norm);
      REQUIRE(norm > 1e-3);
      auto loss_at = [&](double h) {
        for (size_t i = 0; i < g.size(); ++i) w[static_cast<int64_t>(i)] = static_cast<float>(w0[i] + h * g[i] / norm);
        m.forward_backward(true);
        return static_cast<double>(m.loss().value().item());
      };
      auto central = [&](double h) { return (loss_at(h) - loss_at(-h)) / (2.0 * h); };
      // Richardson: (4 D(h/2) - D(h)) / 3 cancels the h^2 term of the central difference.
      const double fd = (4.0 * central(2.5e-3) - central(5e-3)) / 3.0;
      for (size_t i = 0; i < g.size(); ++i) w[static_cast<int64_t>(i)] = w0[i];
      const double rel = std::abs(fd - norm) / norm;
      CAPTURE(norm);
      CAPTURE(fd);
      CAPTURE(rel);
      CHECK(rel < 5e-3);  // measured: at most 1.4e-3
    }
  }
}

TEST_CASE("toy_step: the result does not depend on how many threads run the phases, or their order") {
  ToyCorpus c = longer_corpus();
  ToyConfig cfg;
  cfg.H = 12;
  ToyModel ref(c, cfg, 3, {1, 2}), team(c, cfg, 3, {1, 2});
  ref.forward_backward(true);
  const ToyStepArgs& a = team.step_args();
  // Every buffer the step writes starts as NaN each time: a phase that reads an element before the phase that
  // writes it has run (a missing barrier) then fails, instead of reading the previous run's correct value.
  const float nan = std::numeric_limits<float>::quiet_NaN();
  auto poison = [&] {
    for (const auto& name : toy_layer_names())
      if (name != "Xseqids" && name != "PosInput") {
        Tensor& t = team.model().output(name).value();
        std::fill(t.data(), t.data() + t.numel(), nan);
      }
    Tensor& loss = team.loss().value();
    std::fill(loss.data(), loss.data() + loss.numel(), nan);
    for (const auto& name : toy_weight_names()) {
      Tensor& g = team.weight(name).grad();
      std::fill(g.data(), g.data() + g.numel(), nan);
    }
    std::fill(a.scratch, a.scratch + a.models * toystep::scratch_per_model(a.B, a.T, a.V, a.H), nan);
  };
  for (int threads : {1, 2, 3, 32, 100, 256})
    for (bool reverse : {false, true}) {
      CAPTURE(threads);
      CAPTURE(reverse);
      poison();
      // A barrier between phases, as __syncthreads: every simulated thread runs the phase before the next starts.
      for (int m = 0; m < a.models; ++m)
        toystep::model_step(a, m, [&](auto&& phase) {
          for (int i = 0; i < threads; ++i) phase(reverse ? threads - 1 - i : i, threads);
        });
      check_same_bits(ref, team);
    }
}

TEST_CASE("parity/toy_step: the CUDA fused step against the CPU, and run to run") {
  TOY_REQUIRE_GPU();
  for (ToyCorpus c : {notebook_corpus(), longer_corpus()})
    for (int64_t H : {1, 20, 33})
      for (LossKind loss : {LossKind::Keras, LossKind::Normalized}) {
        CAPTURE(H);
        CAPTURE(loss_name(loss));
        ToyConfig cfg;
        cfg.H = H, cfg.loss = loss;
        const int64_t batch = c.size();
        ToyModel cpu(c, cfg, batch, {3, 4, 5});
        cfg.device = Device::CUDA;
        ToyModel gpu(c, cfg, batch, {3, 4, 5}), again(c, cfg, batch, {3, 4, 5});
        cpu.forward_backward(true);
        gpu.forward_backward(true);
        again.forward_backward(true);
        check_close(gpu, cpu, 1e-5f, 1e-4f);
        check_same_bits(gpu, again);
      }
}

TEST_CASE("toy_step: without activations, a stack's lanes write the loss and gradients only, the same bits, and no sigmoid") {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const ToyCorpus c = notebook_corpus();
  const std::vector<uint64_t> seeds{1, 2, 3, 4, 5, 6, 7, 8, 9};  // models 0..7 in lanes, model 8 alone
  for (LossKind loss : {LossKind::Keras, LossKind::Normalized}) {
    CAPTURE(loss_name(loss));
    ToyConfig cfg;
    cfg.loss = loss;
    ToyModel ref(c, cfg, 2, seeds), fast(c, cfg, 2, seeds);
    run_toy_step_reference(ref.step_args());
    for (bool baseline : {false, true}) {
      CAPTURE(baseline);
      for (const auto& name : toy_layer_names())
        if (name != "Xseqids" && name != "PosInput") {
          Tensor& t = fast.model().output(name).value();
          std::fill(t.data(), t.data() + t.numel(), nan);
        }
      fast.set_step_activations(false);
      run_toy_step_cpu(fast.step_args(), baseline);
      CHECK(fast.loss().value().to_vector() == ref.loss().value().to_vector());
      for (const auto& name : toy_weight_names()) {
        CAPTURE(name);
        CHECK(fast.weight(name).grad().to_vector() == ref.weight(name).grad().to_vector());
      }
      for (const auto& name : toy_layer_names()) {
        if (name == "Xseqids" || name == "PosInput") continue;
        CAPTURE(name);
        for (int64_t m = 0; m < 8; ++m) {  // the lanes left them alone
          const std::vector<float> v = fast.activation_of(name, m).to_vector();
          CHECK(std::all_of(v.begin(), v.end(), [](float x) { return std::isnan(x); }));
        }
        // Alone: written, but for the sigmoid where the loss (Keras': from skipadd) does not read it.
        const std::vector<float> alone = fast.activation_of(name, 8).to_vector();
        if (name == "activation" && loss == LossKind::Keras)
          CHECK(std::all_of(alone.begin(), alone.end(), [](float x) { return std::isnan(x); }));
        else
          CHECK(alone == ref.activation_of(name, 8).to_vector());
      }
    }
  }
}

TEST_CASE("toy_step: the CPU step (vectorized, ISA chosen at run time) gives the reference's bits at every size") {
  // Sizes: the notebook's (H 10/20/40 and an odd H), a longer corpus with mini-batches, stacks, both losses.
  const float nan = std::numeric_limits<float>::quiet_NaN();
  struct Case {
    bool longer;
    int64_t H, batch;
    std::vector<uint64_t> seeds;
    LossKind loss;
  };
  for (const Case& k : {Case{false, 20, 2, {1}, LossKind::Keras}, Case{false, 10, 2, {3}, LossKind::Keras},
                        Case{false, 40, 1, {2}, LossKind::Normalized}, Case{false, 1, 2, {5}, LossKind::Keras},
                        Case{false, 33, 2, {4, 9, 11}, LossKind::Keras}, Case{true, 17, 3, {1, 2}, LossKind::Normalized},
                        Case{true, 64, 3, {7}, LossKind::Keras},
                        // Stacks of 8 and more: models in SIMD lanes (8 at a time), the rest one by one.
                        Case{false, 20, 2, {1, 2, 3, 4, 5, 6, 7, 8}, LossKind::Keras},
                        Case{false, 10, 1, {3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5}, LossKind::Normalized},
                        Case{true, 13, 1, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17}, LossKind::Keras}}) {
    CAPTURE(k.H);
    CAPTURE(k.batch);
    CAPTURE(k.seeds.size());
    const ToyCorpus c = k.longer ? longer_corpus() : notebook_corpus();
    ToyConfig cfg;
    cfg.H = k.H;
    cfg.loss = k.loss;
    ToyModel ref(c, cfg, k.batch, k.seeds), fast(c, cfg, k.batch, k.seeds);
    randomize_weights(ref, 42 + static_cast<uint64_t>(k.H));  // gradients well away from zero
    randomize_weights(fast, 42 + static_cast<uint64_t>(k.H));
    // Each model of a stack gets its own rows (as mini-batches shuffled per model do): every lane its own ids.
    std::vector<std::vector<int64_t>> rows;
    for (size_t mi = 0; mi < k.seeds.size(); ++mi) {
      std::vector<int64_t> r;
      for (int64_t b = 0; b < k.batch; ++b) r.push_back(static_cast<int64_t>((mi + static_cast<size_t>(b)) % c.seqs.size()));
      rows.push_back(r);
    }
    ref.set_batch_models(c, rows);
    fast.set_batch_models(c, rows);
    run_toy_step_reference(ref.step_args());
    // Both copies of the step: the CPU's best instruction set's and the x86-64 baseline's.
    for (bool baseline : {false, true}) {
      CAPTURE(baseline);
      // Every output of the fast step starts as NaN: an element it skips fails the comparison.
      const ToyStepArgs& a = fast.step_args();
      for (const auto& name : toy_layer_names())
        if (name != "Xseqids" && name != "PosInput") {
          Tensor& t = fast.model().output(name).value();
          std::fill(t.data(), t.data() + t.numel(), nan);
        }
      for (const auto& name : toy_weight_names()) {
        Tensor& g = fast.weight(name).grad();
        std::fill(g.data(), g.data() + g.numel(), nan);
      }
      std::fill(a.scratch, a.scratch + a.models * toystep::scratch_per_model(a.B, a.T, a.V, a.H), nan);
      run_toy_step_cpu(a, baseline);
      check_same_bits(ref, fast);
    }
  }
}

TEST_CASE("toy_step: SGD inside the step, the weights kept in lanes or not, gives the reference step + SGD's bits") {
  // 17 models: two groups of eight in SIMD lanes and one alone, each with its own learning rate and rows. Three
  // steps; between the second and the third, model 3's Qmat is overwritten (set_weight_of: the lanes read it again).
  const ToyCorpus c = notebook_corpus();
  ToyConfig cfg;
  std::vector<uint64_t> seeds;
  std::vector<float> lr;
  std::vector<std::vector<int64_t>> rows;
  for (uint64_t s = 1; s <= 17; ++s) {
    seeds.push_back(s);
    lr.push_back(0.05f * static_cast<float>(s));
    rows.push_back({static_cast<int64_t>(s % 2), static_cast<int64_t>((s / 2) % 2)});
  }
  Rng q_rng(5);
  const Tensor new_q = init::uniform(Shape{7, 20}, q_rng, -1.0f, 1.0f);
  ToyModel ref(c, cfg, 2, seeds);
  ref.set_batch_models(c, rows);
  randomize_weights(ref, 3);
  ToyStepArgs ra = ref.step_args();
  ra.sgd_lr = lr.data();
  std::vector<std::vector<float>> ref_losses;
  for (int step = 0; step < 3; ++step) {
    if (step == 2) ref.set_weight_of("Qmat", 3, new_q);
    run_toy_step_reference(ra);
    ref_losses.push_back(ref.losses());
  }
  for (bool lanes : {true, false}) {
    CAPTURE(lanes);
    // Through the model (the CPU's best instruction set).
    ToyModel m(c, cfg, 2, seeds);
    m.set_batch_models(c, rows);
    randomize_weights(m, 3);
    m.set_step_sgd(lr.data(), lanes);
    for (int step = 0; step < 3; ++step) {
      if (step == 2) m.set_weight_of("Qmat", 3, new_q);
      m.forward_backward(true);
      CHECK(m.losses() == ref_losses[static_cast<size_t>(step)]);
    }
    for (const auto& name : toy_weight_names())
      for (int64_t i = 0; i < 17; ++i) {
        CAPTURE(name);
        CAPTURE(i);
        CHECK(m.weight_of(name, i).to_vector() == ref.weight_of(name, i).to_vector());  // synced from the lanes
      }
    CHECK_THROWS_WITH_AS(m.forward_backward(false), doctest::Contains("needs the fused step"), Error);
    m.set_step_sgd(nullptr, false);
    // Both copies of the step directly, one step from the randomized weights.
    for (bool baseline : {false, true}) {
      CAPTURE(baseline);
      ToyModel one(c, cfg, 2, seeds), want(c, cfg, 2, seeds);
      for (ToyModel* x : {&one, &want}) {
        x->set_batch_models(c, rows);
        randomize_weights(*x, 3);
      }
      ToyStepArgs wa = want.step_args(), a = one.step_args();
      wa.sgd_lr = a.sgd_lr = lr.data();
      std::vector<float> lane_weights(static_cast<size_t>(lanes ? toy_lane_weights_floats(a) : 0));
      a.lane_weights = lanes ? lane_weights.data() : nullptr;
      run_toy_step_reference(wa);
      run_toy_step_cpu(a, baseline);
      a.lane_weights_current = true;
      toy_lane_weights_out(a);
      CHECK(one.losses() == want.losses());
      for (const auto& name : toy_weight_names()) {
        CAPTURE(name);
        CHECK(one.weight(name).value().to_vector() == want.weight(name).value().to_vector());
        if (!lanes) CHECK(one.weight(name).grad().to_vector() == want.weight(name).grad().to_vector());
      }
    }
  }
  // Only the CPU's step applies SGD itself; on CUDA the optimizer does (the check comes before any device call).
  ToyStepArgs cuda_args = ref.step_args();
  cuda_args.sgd_lr = lr.data();
  CHECK_THROWS_WITH_AS(run_toy_step(Device::CUDA, cuda_args), doctest::Contains("CPU's only"), Error);
  // Which optimizers the step can stand in for: plain SGD on the CPU, nothing with momentum or other rules.
  ToyModel m(c, cfg, 2, {1, 2});
  std::vector<Var> params;
  for (const auto& name : toy_weight_names()) params.push_back(m.weight(name));
  CHECK(SGD(params, SGDOptions{.lr = 0.1f}, 2).plain_sgd_lr() != nullptr);
  CHECK(SGD(params, SGDOptions{.lr = 0.1f, .momentum = 0.9f}, 2).plain_sgd_lr() == nullptr);
  CHECK(Adam(params, AdamOptions{}, 2).plain_sgd_lr() == nullptr);
  SGD counted(params, SGDOptions{.lr = 0.1f}, 2);
  counted.count_step();
  counted.count_step();
  CHECK(counted.iterations() == 2);
}
