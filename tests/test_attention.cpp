// The MultiHeadAttention layer: against torch.nn.MultiheadAttention with identical weights (fixtures from
// tests/reference/mha_reference.py: outputs, averaged and per-head weights, and gradients), finite-difference
// gradient checks of the whole layer, masks (causal, key padding, fully padded sequences) and its errors.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "autograd/gradcheck.h"
#include "core/error.h"
#include "layers/attention.h"
#include "tests/fixture_util.h"

using namespace toy;
using namespace toy::testing;
using nlohmann::json;

namespace {

// max |got - want| <= tol * max(1, max |want|), one CHECK naming the worst element.
void check_close(const Tensor& got, const Tensor& want, double tol, const std::string& what) {
  REQUIRE_MESSAGE(got.shape() == want.shape(), what, ": (", got.shape().str(), ") vs (", want.shape().str(), ")");
  std::vector<float> g = got.to_vector(), w = want.to_vector();
  double mx = 1, worst = 0;
  size_t at = 0;
  for (float v : w) mx = std::max(mx, static_cast<double>(std::abs(v)));
  for (size_t i = 0; i < w.size(); ++i) {
    const double d = std::abs(static_cast<double>(g[i]) - w[i]);
    if (!(d <= worst)) worst = d, at = i;  // NaN wins
  }
  CHECK_MESSAGE(worst <= tol * mx, what, ": max |diff| ", worst, " at ", at, " (", g[at], " vs ", w[at],
                "), tolerance ", tol * mx);
}

void run_torch_case(const std::string& name) {
  const json fx = load_fixture("mha_" + name + ".json");
  const json& cfg = fx.at("config");
  MultiHeadAttentionOptions o;
  o.d_model = cfg.at("d_model");
  o.num_heads = cfg.at("num_heads");
  o.bias = cfg.at("bias");
  o.causal = cfg.at("causal");
  o.d_in = cfg.at("d_in");
  o.key_dim = cfg.at("key_dim");
  o.value_dim = cfg.at("value_dim");
  Rng rng(1);
  MultiHeadAttention mha("mha", o, rng);
  const json& w = fx.at("weights");
  const MultiHeadAttentionWeights& p = mha.weights();
  const std::vector<std::pair<const char*, Var>> params = {{"W_Q", p.w_q}, {"b_Q", p.b_q}, {"W_K", p.w_k},
                                                           {"b_K", p.b_k}, {"W_V", p.w_v}, {"b_V", p.b_v},
                                                           {"W_O", p.w_o}, {"b_O", p.b_o}};
  for (const auto& param : params) {
    const char* key = param.first;  // not a structured binding: clang 14 cannot capture one in REQUIRE's lambda
    const Var& var = param.second;
    REQUIRE(var.defined() == w.contains(key));
    if (var.defined()) {
      Tensor t = tensor_from_json(w.at(key));
      REQUIRE_MESSAGE(t.shape() == var.shape(), key, ": fixture (", t.shape().str(), ") vs layer (",
                      var.shape().str(), ")");
      var.value().copy_from(t);
    }
  }
  CHECK(static_cast<size_t>(mha.params().size()) == w.size());

  const bool self = cfg.at("self_attention");
  Var query = Var::param(tensor_from_json(fx.at("inputs").at("query")), "query");
  Var key = self ? query : Var::param(tensor_from_json(fx.at("inputs").at("key")), "key");
  Var value = self ? query : Var::param(tensor_from_json(fx.at("inputs").at("value")), "value");
  Tensor kpm = fx.at("key_padding_mask").is_null() ? Tensor() : tensor_from_json(fx.at("key_padding_mask"));
  AttentionOutput a = mha.forward(query, key, value, kpm);

  check_close(a.output.value(), tensor_from_json(fx.at("output")), 1e-5, name + ": output");
  check_close(a.average_weights.value(), tensor_from_json(fx.at("average_weights")), 1e-5,
              name + ": average weights");
  check_close(a.weights.value(), tensor_from_json(fx.at("head_weights")), 1e-5, name + ": per-head weights");

  Tensor seed = tensor_from_json(fx.at("seed"));
  Graph g(a.output);
  g.zero_grad();
  g.backward(&seed);
  const json& grads = fx.at("grads");
  for (const auto& [k, var] : params)
    if (var.defined()) check_close(var.grad(), tensor_from_json(grads.at(k)), 1e-5, name + ": d " + k);
  check_close(query.grad(), tensor_from_json(grads.at("query")), 1e-5, name + ": d query");
  if (!self) {
    check_close(key.grad(), tensor_from_json(grads.at("key")), 1e-5, name + ": d key");
    check_close(value.grad(), tensor_from_json(grads.at("value")), 1e-5, name + ": d value");
  }
}

Tensor uniform(Rng& rng, const Shape& s, float lo = -1.0f, float hi = 1.0f) {
  Tensor t = Tensor::empty(s);
  for (int64_t i = 0; i < t.numel(); ++i) t[i] = rng.uniform(lo, hi);
  return t;
}

}  // namespace

TEST_CASE("attention/mha: matches torch self-attention") { run_torch_case("self"); }
TEST_CASE("attention/mha: matches torch self-attention with key padding") { run_torch_case("self_padding"); }
TEST_CASE("attention/mha: matches torch causal self-attention with key padding") { run_torch_case("self_causal"); }
TEST_CASE("attention/mha: matches torch cross-attention (kdim and vdim differ)") { run_torch_case("cross"); }
TEST_CASE("attention/mha: matches torch cross-attention with key padding, no bias") {
  run_torch_case("cross_padding_nobias");
}

// Cross-attention at odd sizes (B=2, Tq=3, Tk=5, d_in=5, key_dim=4, value_dim=3, d_model=6 in 3 heads, d_out=5),
// with a key-padding mask and the causal rule: every input and weight through the finite-difference checker.
TEST_CASE("attention/mha: gradcheck of cross-attention with masks") {
  Rng rng(5);
  const int64_t B = 2, tq = 3, tk = 5, heads = 3;
  std::vector<Tensor> in = {uniform(rng, Shape{B, tq, 5}), uniform(rng, Shape{B, tk, 4}), uniform(rng, Shape{B, tk, 3}),
                            uniform(rng, Shape{5, 6}),     uniform(rng, Shape{6}),        uniform(rng, Shape{4, 6}),
                            uniform(rng, Shape{6}),        uniform(rng, Shape{3, 6}),     uniform(rng, Shape{6}),
                            uniform(rng, Shape{6, 5}),     uniform(rng, Shape{5})};
  Tensor kpm = Tensor::from(Shape{B, tk}, {1, 1, 1, 1, 1, 1, 1, 1, 0, 0});
  for (bool causal : {false, true}) {
    INFO("causal=", causal);
    const Tensor mask = attention_mask(B, tq, tk, kpm, causal);
    GradFn f = [&](const std::vector<Var>& v) {
      MultiHeadAttentionWeights w{v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10]};
      return multi_head_attention(v[0], v[1], v[2], w, heads, mask).output;
    };
    GradcheckResult r = gradcheck(f, in, std::vector<bool>(in.size(), true));
    CHECK_MESSAGE(r.ok, r.summary());
  }
}

// Self-attention through the layer itself (x feeds query, key and value), gradients w.r.t. x and the weights; the
// per-head weights and their average are checked as outputs too.
TEST_CASE("attention/mha: gradcheck of the layer, its weights and averaged weights") {
  Rng rng(6);
  MultiHeadAttention mha("mha", {.d_model = 4, .num_heads = 2, .causal = true, .d_in = 3}, rng);
  const MultiHeadAttentionWeights w0 = mha.weights();
  std::vector<Tensor> in = {uniform(rng, Shape{2, 5, 3})};
  for (const Var& p : mha.params()) in.push_back(uniform(rng, p.shape()));  // non-zero biases too
  const Tensor kpm = Tensor::from(Shape{2, 5}, {1, 1, 1, 1, 1, 1, 1, 1, 1, 0});
  for (int which = 0; which < 3; ++which) {
    INFO("output ", which);
    GradFn f = [&](const std::vector<Var>& v) {
      // The layer's computation with the checker's Vars as its weights (equal to the layer's forward: see below).
      MultiHeadAttentionWeights w{v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8]};
      AttentionOutput a = multi_head_attention(v[0], v[0], v[0], w, 2, attention_mask(2, 5, 5, kpm, true));
      return which == 0 ? a.output : which == 1 ? a.weights : a.average_weights;
    };
    // The weights depend on x, W_Q, b_Q, W_K and b_K only.
    std::vector<bool> diff(in.size(), true);
    if (which > 0) std::fill(diff.begin() + 5, diff.end(), false);
    GradcheckResult r = gradcheck(f, in, diff);
    CHECK_MESSAGE(r.ok, r.summary());
  }
  // The layer's forward equals the functional form on the same weights.
  for (size_t i = 0; i < mha.params().size(); ++i) mha.params()[i].value().copy_from(in[i + 1]);
  Var x = Var::constant(in[0]);
  AttentionOutput a = mha(x, kpm);
  MultiHeadAttentionWeights w{Var::constant(in[1]), Var::constant(in[2]), Var::constant(in[3]),
                              Var::constant(in[4]), Var::constant(in[5]), Var::constant(in[6]),
                              Var::constant(in[7]), Var::constant(in[8])};
  AttentionOutput b = multi_head_attention(x, x, x, w, 2, attention_mask(2, 5, 5, kpm, true));
  CHECK(a.output.value().to_vector() == b.output.value().to_vector());
  CHECK(w0.w_q.node() == mha.params()[0].node());
}

TEST_CASE("attention/mha: shapes, names and parameters") {
  Rng rng(7);
  MultiHeadAttention mha("attn", {.d_model = 6, .num_heads = 3, .d_in = 4, .key_dim = 5, .value_dim = 2, .d_out = 7},
                         rng);
  std::vector<std::string> names;
  for (const Var& p : mha.params()) names.push_back(p.name());
  CHECK(names == std::vector<std::string>{"attn/W_Q", "attn/b_Q", "attn/W_K", "attn/b_K", "attn/W_V", "attn/b_V",
                                          "attn/W_O", "attn/b_O"});
  CHECK(mha.params()[0].shape() == Shape{4, 6});
  CHECK(mha.params()[2].shape() == Shape{5, 6});
  CHECK(mha.params()[4].shape() == Shape{2, 6});
  CHECK(mha.params()[6].shape() == Shape{6, 7});
  CHECK(mha.d_head() == 2);
  Var q = Var::constant(uniform(rng, Shape{2, 3, 4})), k = Var::constant(uniform(rng, Shape{2, 8, 5})),
      v = Var::constant(uniform(rng, Shape{2, 8, 2}));
  AttentionOutput a = mha.forward(q, k, v);
  CHECK(a.output.shape() == Shape{2, 3, 7});
  CHECK(a.weights.shape() == Shape{2, 3, 3, 8});
  CHECK(a.average_weights.shape() == Shape{2, 3, 8});
  CHECK(a.context.shape() == Shape{2, 3, 6});
  REQUIRE(a.head_weights.size() == 3);
  CHECK(a.head_weights[1].name() == "attn/head1/weights");
  CHECK(a.head_scores[2].name() == "attn/head2/scores");
  CHECK(a.head_scaled_scores[0].name() == "attn/head0/scaled_scores");
  CHECK(a.weights.name() == "attn/weights");
  CHECK(a.average_weights.name() == "attn/average_weights");
  CHECK(a.output.name() == "attn");
  // The stacked weights are the per-head ones, and the average is their mean; each row sums to 1.
  std::vector<float> stacked = a.weights.value().to_vector(), avg = a.average_weights.value().to_vector();
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t h = 0; h < 3; ++h) {
      std::vector<float> hw = a.head_weights[static_cast<size_t>(h)].value().to_vector();
      for (int64_t i = 0; i < 3 * 8; ++i) CHECK(stacked[static_cast<size_t>((b * 3 + h) * 24 + i)] == hw[b * 24 + i]);
    }
  for (int64_t r = 0; r < 2 * 3; ++r) {
    double s = 0;
    for (int64_t j = 0; j < 8; ++j) s += avg[static_cast<size_t>(r * 8 + j)];
    CHECK(std::abs(s - 1.0) <= 1e-6);
  }

  MultiHeadAttention plain("plain", {.d_model = 4, .num_heads = 1, .bias = false, .output_projection = false}, rng);
  CHECK(plain.params().size() == 3);
  AttentionOutput p = plain(Var::constant(uniform(rng, Shape{1, 5, 4})));
  CHECK(p.output.shape() == Shape{1, 5, 4});
  CHECK(p.output.node() == p.context.node());
}

TEST_CASE("attention/mha: errors name the layer and the sizes") {
  Rng rng(8);
  CHECK_THROWS_WITH_AS(MultiHeadAttention("mha", {.d_model = 10, .num_heads = 4}, rng),
                       doctest::Contains("MultiHeadAttention 'mha': d_model 10 is not divisible by num_heads 4"),
                       Error);
  CHECK_THROWS_WITH_AS(MultiHeadAttention("mha", {.d_model = 0}, rng), doctest::Contains("d_model must be positive"),
                       Error);
  CHECK_THROWS_WITH_AS(MultiHeadAttention("mha", {.d_model = 4, .num_heads = 0}, rng),
                       doctest::Contains("num_heads must be positive"), Error);
  MultiHeadAttention mha("mha", {.d_model = 4, .num_heads = 2}, rng);
  Var x = Var::constant(Tensor::zeros(Shape{2, 3, 5}));
  CHECK_THROWS_WITH_AS(mha(x), doctest::Contains("mha: query (2x3x5) has 5 features but W_Q is (4x4)"), Error);
  Var ok = Var::constant(Tensor::zeros(Shape{2, 3, 4}));
  CHECK_THROWS_WITH_AS(mha(ok, Tensor::full(Shape{2, 4}, 1.0f)),
                       doctest::Contains("attention: key_padding_mask (2x4) must be [B, Tk] = (2x3)"), Error);
  CHECK_THROWS_WITH_AS(mha(ok, Tensor::full(Shape{2, 3}, 0.5f)),
                       doctest::Contains("key_padding_mask values must be 0 or 1, got 0.5"), Error);
  CHECK_THROWS_WITH_AS(scaled_dot_product_attention(ok, ok, ok, 3), doctest::Contains("3 heads do not divide"), Error);
}

// A sequence whose keys are all padding (or a causal row whose only key is padded): the rule of softmax in
// autograd/ops.h makes its weights all zero, its context zero (so the output row is b_O), with finite gradients and
// none flowing into the padded keys. PyTorch 1.13 returns NaN here.
TEST_CASE("attention/mha: a fully padded key sequence gives zero weights, no NaN") {
  Rng rng(9);
  MultiHeadAttention mha("mha", {.d_model = 4, .num_heads = 2}, rng);
  for (const Var& p : mha.params()) {
    Tensor t = uniform(rng, p.shape());
    p.value().copy_from(t);
  }
  Var x = Var::param(uniform(rng, Shape{2, 3, 4}), "x");
  const Tensor kpm = Tensor::from(Shape{2, 3}, {1, 1, 0, 0, 0, 0});  // sequence 1: no real token
  AttentionOutput a = mha(x, kpm);
  std::vector<float> w = a.weights.value().to_vector(), avg = a.average_weights.value().to_vector();
  std::vector<float> out = a.output.value().to_vector(), ctx = a.context.value().to_vector();
  std::vector<float> b_o = mha.weights().b_o.value().to_vector();
  for (float v : out) CHECK(std::isfinite(v));
  for (int64_t i = 18; i < 36; ++i) CHECK(w[static_cast<size_t>(i)] == 0.0f);   // batch 1, both heads
  for (int64_t i = 9; i < 18; ++i) CHECK(avg[static_cast<size_t>(i)] == 0.0f);
  for (int64_t i = 12; i < 24; ++i) CHECK(ctx[static_cast<size_t>(i)] == 0.0f);
  for (int64_t i = 12; i < 24; ++i)
    CHECK(out[static_cast<size_t>(i)] == doctest::Approx(b_o[static_cast<size_t>(i % 4)]));
  for (int64_t i = 0; i < 9; ++i)  // sequence 0: key 2 is padding, rows still sum to 1
    if (i % 3 == 2) CHECK(avg[static_cast<size_t>(i)] == 0.0f);
  Tensor seed = Tensor::full(a.output.shape(), 1.0f);
  Graph g(a.output);
  g.zero_grad();
  g.backward(&seed);
  for (float v : x.grad().to_vector()) CHECK(std::isfinite(v));
  for (const Var& p : mha.params())
    for (float v : p.grad().to_vector()) CHECK(std::isfinite(v));

  // The same through the causal rule: query 0 of sequence 0 sees only key 0, which is padding.
  MultiHeadAttention causal("causal", {.d_model = 4, .num_heads = 2, .causal = true}, rng);
  AttentionOutput c = causal(Var::constant(uniform(rng, Shape{1, 3, 4})), Tensor::from(Shape{1, 3}, {0, 1, 1}));
  std::vector<float> cw = c.average_weights.value().to_vector();
  CHECK(cw[0] == 0.0f);
  CHECK(cw[1] == 0.0f);
  CHECK(cw[2] == 0.0f);
  CHECK(cw[4] == doctest::Approx(1.0));  // query 1 sees key 1 only
}
