// The toy model's variants (ToyArch): names, parameter counts, finite-difference gradients of every variant's loss,
// the refusals (fused step, options), stacks, and the notebook's model unchanged under the default arch.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>

#include "apps/lib/sweep/grid.h"
#include "apps/lib/training/settings.h"
#include "apps/lib/training/train.h"
#include "fixture_util.h"
#include "layers/toy_model.h"

using namespace toy;

namespace {

// A variant from the sweep's axis names and values ({"heads", 2}, {"norm", 1}, ...).
ToyArch arch(std::initializer_list<std::pair<const char*, int64_t>> opts) {
  ToyArch a;
  int64_t H = 20;
  for (const auto& [axis, v] : opts) set_axis(axis, v, H, a);
  return a;
}

ToyModel variant(const ToyArch& a, int64_t H = 20, uint64_t seed = 1) {
  ToyConfig cfg;
  cfg.H = H;
  cfg.arch = a;
  cfg.seed = seed;
  return ToyModel(notebook_corpus(), cfg, 2);
}

// Every variant the family builds, each option on its own and combined.
std::vector<std::pair<ToyArch, int64_t>> family() {
  return {{arch({{"heads", 2}}), 10},
          {arch({{"wo", 1}}), 20},
          {arch({{"heads", 4}}), 5},
          {arch({{"layers", 2}}), 20},
          {arch({{"ffn", 16}}), 20},
          {arch({{"norm", 1}}), 20},
          {arch({{"ffn", 8}, {"norm", 1}}), 20},
          {arch({{"pos", 0}}), 20},
          {arch({{"residual", 0}}), 20},
          {arch({{"mask", 0}}), 20},
          {arch({{"heads", 2}, {"layers", 2}, {"ffn", 8}, {"norm", 1}}), 10},
          {arch({{"residual", 0}, {"ffn", 8}, {"layers", 2}}), 6}};
}

}  // namespace

TEST_CASE("family/names: the model's layers and weights are toy_*_names(arch), in creation order") {
  CHECK(toy_layer_names(ToyArch{}) == toy_layer_names());
  CHECK(toy_weight_names(ToyArch{}) == toy_weight_names());
  for (const auto& aH : family()) {
    const ToyArch& a = aH.first;  // not a structured binding: clang 14 cannot capture one in CAPTURE's lambda
    const int64_t H = aH.second;
    CAPTURE(a.describe());
    ToyModel m = variant(a, H);
    std::vector<std::string> layers, weights;
    for (const auto& e : m.model().layers()) layers.push_back(e.name);
    for (const Var& p : m.model().params()) weights.push_back(p.name());
    CHECK(layers == toy_layer_names(a));
    CHECK(weights == toy_weight_names(a));
    CHECK(m.layer_names() == layers);
    CHECK(m.weight_names() == weights);
    CHECK(m.attention_layers().size() == static_cast<size_t>(a.layers));
    CHECK(m.model().output(m.attention_layers()[0]).shape() == Shape{2, a.heads, 5, 5});
    CHECK(m.model().output("activation").shape() == Shape{2, 5, 7});
    CHECK(!m.fused_supported());
  }
}

TEST_CASE("family/names: the options' own layers appear exactly when asked for") {
  auto has = [](const ToyArch& a, const std::string& name) {
    const auto n = toy_layer_names(a);
    return std::find(n.begin(), n.end(), name) != n.end();
  };
  CHECK(has(arch({{"heads", 2}}), "L0/Omat"));
  CHECK(has(arch({{"wo", 1}}), "L0/Omat"));
  CHECK_FALSE(has(arch({{"pos", 0}}), "L0/Omat"));
  CHECK_FALSE(has(arch({{"pos", 0}}), "PosEmbed"));
  CHECK_FALSE(has(arch({{"pos", 0}}), "PosInput"));
  CHECK_FALSE(has(arch({{"residual", 0}}), "L0/skipadd"));
  CHECK(has(arch({{"layers", 3}}), "L2/AttnWts"));
  CHECK(has(arch({{"ffn", 4}, {"norm", 1}}), "L0/norm2"));
  CHECK_FALSE(has(arch({{"ffn", 4}, {"residual", 0}}), "L0/ffnadd"));
  CHECK(ToyArch{}.describe() == "notebook");
  CHECK(arch({{"heads", 2}, {"norm", 1}, {"pos", 0}}).describe() == "heads=2 norm=layer no-pos");
}

TEST_CASE("family/params: parameter counts by hand (E = V = 7, T = 5)") {
  // notebook: XEmbed 49 + PosEmbed 35 + Qmat, Kmat 7x20 + Vmat 7x7
  CHECK(variant(ToyArch{}).model().param_count() == 49 + 35 + 140 + 140 + 49);
  // 2 heads of 10: Q, K, V [7,2,10], W_O [2,10,7]: 1 x 20 with --wo has the same count
  CHECK(variant(arch({{"heads", 2}}), 10).model().param_count() == 49 + 35 + 4 * 140);
  CHECK(variant(arch({{"wo", 1}}), 20).model().param_count() == 49 + 35 + 4 * 140);
  // ffn 16: W1 7x16 + b1 16 + W2 16x7 + b2 7; norm: gamma, beta 7 each after attention and after the ffn
  CHECK(variant(arch({{"ffn", 16}, {"norm", 1}})).model().param_count() == 413 + (112 + 16 + 112 + 7) + 4 * 7);
  CHECK(variant(arch({{"layers", 2}, {"pos", 0}})).model().param_count() == 49 + 2 * (140 + 140 + 49));
  const std::string summary = variant(arch({{"heads", 2}}), 10).model().summary();
  CHECK(summary.find("L0/Omat (Dense)") != std::string::npos);
  CHECK(summary.find("Total params: 644") != std::string::npos);
}

// d loss / d every weight element against central differences of the model's own forward pass, in float32: the
// difference quotient at steps eps and eps/2 must agree (else the loss is not smooth at that scale there, e.g. a ReLU
// kink or LayerNorm of near-constant rows within the step: the element is skipped, and at most 5% may be), then the
// analytic gradient must match it within |a - n| <= 2e-3 + 2e-2 |n| (gradcheck's float32 tolerance).
TEST_CASE("family/gradients: every variant's weight gradients match finite differences") {
  for (const auto& aH : family()) {
    const ToyArch& a = aH.first;  // not a structured binding: clang 14 cannot capture one in CAPTURE's lambda
    const int64_t H = aH.second;
    CAPTURE(a.describe());
    ToyModel m = variant(a, H, 3);
    m.forward_backward(false);
    int64_t checked = 0, skipped = 0, bad = 0;
    double worst = 0;
    for (const auto& name : m.weight_names()) {
      Var w = m.weight(name);
      const std::vector<float> g = w.grad().to_vector();
      Tensor& v = w.value();
      auto quotient = [&](int64_t i, float eps) {
        const float keep = v[i];
        v[i] = keep + eps;
        m.model().forward();
        const double up = m.loss().value().item();
        v[i] = keep - eps;
        m.model().forward();
        const double down = m.loss().value().item();
        v[i] = keep;
        return (up - down) / (static_cast<double>(keep + eps) - static_cast<double>(keep - eps));
      };
      for (int64_t i = 0; i < v.numel(); i += (name == "XEmbed" || name == "PosEmbed") ? 1 : 3) {
        const float eps = 2e-3f * std::max(1.0f, std::abs(v[i]));
        const double coarse = quotient(i, eps), fine = quotient(i, eps / 2);
        ++checked;
        if (std::abs(coarse - fine) > 1e-3 + 1e-2 * std::abs(fine)) {
          ++skipped;
          continue;
        }
        const double err = std::abs(fine - g[static_cast<size_t>(i)]);
        worst = std::max(worst, err);
        if (err > 2e-3 + 2e-2 * std::abs(fine)) {
          ++bad;
          MESSAGE(name << "[" << i << "]: analytic " << g[static_cast<size_t>(i)] << ", numeric " << fine);
        }
      }
    }
    CAPTURE(worst);
    CAPTURE(skipped);
    CHECK(checked > 100);
    CHECK(skipped * 20 <= checked);
    CHECK(bad == 0);
  }
}

TEST_CASE("family/refusals: the fused step and bad options are refused with the flag named") {
  ToyModel m = variant(arch({{"heads", 2}}), 10);
  CHECK_THROWS_WITH(m.forward_backward(true), doctest::Contains("fused step computes the notebook's model only"));
  ToyConfig cfg;
  cfg.arch = arch({{"heads", 0}});
  CHECK_THROWS_WITH(ToyModel(notebook_corpus(), cfg, 2), doctest::Contains("--heads must be in [1, 64]"));
  CHECK_THROWS_WITH((void)step_is_fused(StepPath::Fused, Device::CPU, arch({{"layers", 2}})),
                    doctest::Contains("--step fused"));
  CHECK_FALSE(step_is_fused(StepPath::Auto, Device::CPU, arch({{"layers", 2}})));
  CHECK(step_is_fused(StepPath::Auto, Device::CPU, ToyArch{}));
}

TEST_CASE("family/settings: a variant's options round-trip through JSON, the notebook's records gain no key") {
  TrainSettings s;
  nlohmann::json j = s;
  CHECK_FALSE(j.contains("heads"));
  CHECK_FALSE(j.contains("norm"));
  s.arch = arch({{"heads", 2}, {"norm", 1}, {"mask", 0}});
  j = s;
  CHECK(j.at("heads") == 2);
  CHECK(j.at("norm") == "layer");
  TrainSettings back;
  from_json(j, back);
  CHECK(back.arch == s.arch);
  j["norm"] = "batch";
  CHECK_THROWS_WITH(from_json(j, back), doctest::Contains("'norm': unknown 'batch'"));
}

// Against the independent PyTorch twin (tests/reference/toy_variants_reference.py, fixtures in
// tests/fixtures/variants/): from the fixture's initial weights, the step-0 loss, every named activation and every
// weight gradient, then 300 epochs of SGD with the plateau rule (every epoch's loss, the lr cuts, the final weights).
// Tolerances are each fixture's own, from the reference's drift study.
namespace {

// The fixture's options use run.json's keys (heads, wo, layers, ffn, norm, pos, residual, mask).
ToyArch arch_from(const nlohmann::json& o) {
  TrainSettings s;
  from_json(o, s);
  return s.arch;
}

double rel_to_max(const Tensor& got, const Tensor& want) {
  std::vector<float> x = got.to_vector(), y = want.to_vector();
  REQUIRE(x.size() == y.size());
  double mx = 0, d = 0;
  for (size_t i = 0; i < y.size(); ++i) {
    mx = std::max(mx, static_cast<double>(std::abs(y[i])));
    d = std::max(d, static_cast<double>(std::abs(x[i] - y[i])));
  }
  return mx > 0 ? d / mx : d;
}

}  // namespace

TEST_CASE("family/twin: every variant matches the PyTorch reference (one step and 300 epochs)") {
  const std::vector<std::string> cases{"heads2_h10", "wo_h20",  "heads4_h5", "layers2",     "ffn16", "norm",
                                       "ffn16_norm", "no_pos",  "no_residual", "no_mask", "combo"};
  for (const auto& name : cases) {
    CAPTURE(name);
    const nlohmann::json fx = testing::load_fixture("variants/" + name + ".json");
    const nlohmann::json& cfgj = fx.at("config");
    const nlohmann::json& tol = fx.at("tolerance");
    ToyConfig cfg;
    cfg.H = cfgj.at("options").at("H").get<int64_t>();
    cfg.arch = arch_from(cfgj.at("options"));
    ToyModel m(notebook_corpus(), cfg, 2);
    REQUIRE(m.weight_names().size() == fx.at("init_weights").size());
    std::vector<std::pair<std::string, Tensor>> w0;
    for (const auto& wn : m.weight_names()) w0.push_back({wn, testing::tensor_from_json(fx.at("init_weights").at(wn))});
    m.set_weights(w0);
    m.forward_backward(false);
    const double l0 = fx.at("initial_loss").get<double>();
    CHECK(std::abs(m.loss().value().item() - l0) <= tol.at("initial_loss_rel").get<double>() * std::abs(l0));
    REQUIRE(m.layer_names().size() == fx.at("step0_activations").size());
    for (const auto& ln : m.layer_names()) {
      CAPTURE(ln);
      CHECK(rel_to_max(m.model().output(ln).value(), testing::tensor_from_json(fx.at("step0_activations").at(ln))) <=
            tol.at("step0_activations_rel_to_layer_max").get<double>());
    }
    for (const auto& wn : m.weight_names()) {
      CAPTURE(wn);
      CHECK(rel_to_max(m.weight(wn).grad(), testing::tensor_from_json(fx.at("step0_grads").at(wn))) <=
            tol.at("step0_grads_rel_to_tensor_max").get<double>());
    }

    m.set_weights(w0);
    TrainOptions o;
    o.epochs = cfgj.at("epochs").get<int64_t>();
    o.optimizer = "sgd";
    o.lr = static_cast<float>(cfgj.at("optimizer").at("learning_rate").get<double>());
    o.plateau = cfgj.at("plateau").get<bool>();
    o.arch = cfg.arch;
    const TrainResult r = train(m, notebook_corpus(), o);
    const auto& want = fx.at("losses");
    REQUIRE(r.loss.size() == want.size());
    double worst = 0;
    for (size_t e = 0; e < want.size(); ++e)
      worst = std::max(worst, std::abs(r.loss[e] - want[e].get<double>()) / std::abs(want[e].get<double>()));
    CAPTURE(worst);
    CHECK(worst <= tol.at("losses_rel").get<double>());
    CHECK(r.reductions == fx.at("lr_reduced_at_epoch_end_0based").get<std::vector<int64_t>>());
    double wworst = 0;
    for (const auto& wn : m.weight_names())
      wworst = std::max(wworst, testing::max_scaled_diff(m.weight(wn).value(),
                                                         testing::tensor_from_json(fx.at("final_weights").at(wn)), false));
    CAPTURE(wworst);
    CHECK(wworst <= tol.at("final_weights_abs").get<double>());
  }
}

// Every variant trains in a stack of models, each bit for bit as alone: the losses and lr of every epoch, the final
// weights and every named activation (the same check tests/test_toy_stack.cpp makes for the notebook's model). The
// feed-forward biases and LayerNorm's gamma and beta are [M, n] in a stack: add over a middle axis and layer_norm
// with per-group parameters sum each model's rows as alone.
TEST_CASE("family/stacks: a stacked variant's models train bit for bit as alone") {
  const std::vector<uint64_t> seeds{3, 7, 11};
  for (const auto& aH : family()) {
    const ToyArch& a = aH.first;  // not a structured binding: clang 14 cannot capture one in CAPTURE's lambda
    const int64_t H = aH.second;
    CAPTURE(a.describe());
    ToyConfig cfg;
    cfg.H = H;
    cfg.arch = a;
    TrainOptions o;
    o.epochs = 150;
    o.arch = a;
    ToyModel stack(notebook_corpus(), cfg, 2, seeds);
    const std::vector<TrainResult> rs = train_models(stack, notebook_corpus(), o);
    for (size_t i = 0; i < seeds.size(); ++i) {
      CAPTURE(seeds[i]);
      cfg.seed = seeds[i];
      ToyModel alone(notebook_corpus(), cfg, 2);
      const TrainResult r = train(alone, notebook_corpus(), o);
      CHECK(rs[i].loss == r.loss);
      CHECK(rs[i].lr == r.lr);
      for (const auto& wn : alone.weight_names())
        CHECK(stack.weight_of(wn, static_cast<int64_t>(i)).to_vector() == alone.weight(wn).value().to_vector());
      for (const auto& ln : alone.layer_names())
        CHECK(stack.activation_of(ln, static_cast<int64_t>(i)).to_vector() ==
              alone.model().output(ln).value().to_vector());
    }
  }
}
