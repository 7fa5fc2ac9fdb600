// The toy model's variants (ToyArch in layers/toy_model.h): heads with W_O, stacked blocks, a feed-forward layer,
// LayerNorm and the ablations, built from the engine's ops. The notebook's own model is built in toy_model.cpp
// (its 14 layers, its fused step); everything here runs on the op-by-op graph, one model or a stack of them.
#include <fmt/format.h>

#include <cmath>

#include "core/error.h"
#include "layers/toy_model.h"

namespace toy {

bool ToyArch::notebook() const { return *this == ToyArch{}; }

std::string ToyArch::describe() const {
  std::string s;
  auto put = [&](const std::string& part) { s += (s.empty() ? "" : " ") + part; };
  if (heads != 1) put(fmt::format("heads={}", heads));
  if (wo && heads == 1) put("wo");
  if (layers != 1) put(fmt::format("layers={}", layers));
  if (ffn != 0) put(fmt::format("ffn={}", ffn));
  if (norm) put("norm=layer");
  if (!pos) put("no-pos");
  if (!residual) put("no-residual");
  if (!mask) put("no-mask");
  return s.empty() ? "notebook" : s;
}

void ToyArch::validate() const {
  TOY_CHECK(heads >= 1 && heads <= 64, "--heads must be in [1, 64], got {}", heads);
  TOY_CHECK(layers >= 1 && layers <= 16, "--layers must be in [1, 16], got {}", layers);
  TOY_CHECK(ffn >= 0 && ffn <= 4096, "--ffn must be in [0, 4096] (0 = no feed-forward layer), got {}", ffn);
}

namespace {

// The names of one variant, in creation order; the one list both the model and toy_*_names(arch) read.
struct FamilyNames {
  std::vector<std::string> weights, layers;
};

FamilyNames family_names(const ToyArch& a) {
  if (a.notebook()) return {toy_weight_names(), toy_layer_names()};
  FamilyNames n;
  n.weights.push_back("XEmbed");
  n.layers.push_back("Xseqids");
  if (a.pos) {
    n.weights.push_back("PosEmbed");
    n.layers.insert(n.layers.end(), {"PosInput", "XEmbed", "PosEmbed", "XwithPos"});
  } else {
    n.layers.push_back("XEmbed");
  }
  for (int64_t l = 0; l < a.layers; ++l) {
    const std::string P = fmt::format("L{}/", l);
    for (const char* w : {"Qmat", "Kmat", "Vmat"}) n.weights.push_back(P + w);
    if (a.has_wo()) n.weights.push_back(P + "Omat");
    if (a.norm) n.weights.insert(n.weights.end(), {P + "norm1/gamma", P + "norm1/beta"});
    if (a.ffn > 0)
      n.weights.insert(n.weights.end(), {P + "ffn1/kernel", P + "ffn1/bias", P + "ffn2/kernel", P + "ffn2/bias"});
    if (a.norm && a.ffn > 0) n.weights.insert(n.weights.end(), {P + "norm2/gamma", P + "norm2/beta"});
    for (const char* name : {"Qmat", "Kmat", "dot", "lambda", "AttnWts", "Vmat", "Voutput"}) n.layers.push_back(P + name);
    if (a.has_wo()) n.layers.push_back(P + "Omat");
    if (a.residual) n.layers.push_back(P + "skipadd");
    if (a.norm) n.layers.push_back(P + "norm1");
    if (a.ffn > 0) {
      n.layers.insert(n.layers.end(), {P + "ffn1", P + "ffn2"});
      if (a.residual) n.layers.push_back(P + "ffnadd");
      if (a.norm) n.layers.push_back(P + "norm2");
    }
  }
  n.layers.push_back("activation");
  return n;
}

// Per-head [N, T, T] values stacked into [N, heads, T, T] (head-major, as Keras' attention_scores).
Var stack_heads(const std::vector<Var>& per_head, int64_t N, int64_t T) {
  const int64_t n = static_cast<int64_t>(per_head.size());
  if (n == 1) return reshape(per_head[0], Shape{N, 1, T, T});
  std::vector<Var> flat;
  for (const Var& h : per_head) flat.push_back(reshape(h, Shape{N, T * T}));
  return reshape(concat_last(flat), Shape{N, n, T, T});
}

}  // namespace

std::vector<std::string> toy_weight_names(const ToyArch& arch) { return family_names(arch).weights; }
std::vector<std::string> toy_layer_names(const ToyArch& arch) { return family_names(arch).layers; }

void ToyModel::build_variant(const ToyCorpus& corpus) {
  const ToyArch& a = cfg_.arch;
  const int64_t M = models(), B = batch_, MB = M * B, T = T_, E = V_, H = cfg_.H, NH = a.heads, D = NH * H;
  const Device dev = cfg_.device;
  const bool one = M == 1;

  // The weights, drawn from each model's own Rng in name order (as the notebook's: embeddings, then each block's
  // kernels), so a model in a stack starts as it starts alone. A stack holds model m's block of every weight at
  // index m of a leading model axis (the embeddings as [M*V, E] and [M*T, E], read through offset ids).
  std::vector<Rng> rngs;
  for (uint64_t seed : seeds_) rngs.emplace_back(seed);
  auto param = [&](const std::string& name, const char* type, Tensor w) {
    return model_.add_layer(std::make_shared<ParamLayer>(name, type, dev == Device::CPU ? w : w.to(dev)));
  };
  // A layer of several weights (a Dense kernel and bias, LayerNorm's gamma and beta), each [M, ...] in a stack.
  auto params = [&](const std::string& name, const char* type, std::vector<std::pair<std::string, Tensor>> ws) {
    for (auto& w : ws) w.second = w.second.to(dev);
    return model_.add_layer(std::make_shared<ParamLayer>(name, type, std::move(ws)));
  };
  // Every model's draw of one weight of Keras shape `keras` (model-major); `stack_rows`: the embeddings' [M*rows, E].
  auto draw = [&](const Shape& keras, auto&& one_draw, bool stack_rows = false) {
    std::vector<float> all;
    for (Rng& rng : rngs) {
      const std::vector<float> w = one_draw(rng).to_vector();
      all.insert(all.end(), w.begin(), w.end());
    }
    std::vector<int64_t> dims = keras.dims();
    if (stack_rows) dims[0] *= M;
    else if (!one) dims.insert(dims.begin(), M);
    return Tensor::from(Shape(dims), all);
  };
  auto kernel = [&](int64_t in, int64_t out, const Shape& keras_shape) {  // glorot over the [in, out] view
    return draw(keras_shape, [&](Rng& rng) { return init::glorot_uniform(Shape{in, out}, rng).reshape(keras_shape); });
  };
  auto embed = [&](int64_t rows) {
    return draw(Shape{rows, E}, [&](Rng& rng) { return init::uniform(Shape{rows, E}, rng); }, true);
  };
  auto filled = [&](int64_t n, float v) { return Tensor::full(one ? Shape{n} : Shape{M, n}, v); };  // [n] / [M,n]
  // Keras' Dense with bias (glorot kernel, zero bias) and LayerNormalization (gamma ones, beta zeros).
  auto dense_layer = [&](const std::string& name, int64_t in, int64_t out) {
    return params(name, "Dense", {{"kernel", kernel(in, out, Shape{in, out})}, {"bias", filled(out, 0.0f)}});
  };
  auto norm_layer = [&](const std::string& name) {
    return params(name, "LayerNormalization", {{"gamma", filled(E, 1.0f)}, {"beta", filled(E, 0.0f)}});
  };
  auto l_xembed = param("XEmbed", "Embedding", embed(V_));
  std::shared_ptr<ParamLayer> l_posembed;
  if (a.pos) l_posembed = param("PosEmbed", "Embedding", embed(T));
  struct Block {
    std::shared_ptr<ParamLayer> q, k, v, o, norm1, norm2, ffn1, ffn2;
  };
  std::vector<Block> blocks(static_cast<size_t>(a.layers));
  for (int64_t l = 0; l < a.layers; ++l) {
    Block& b = blocks[static_cast<size_t>(l)];
    const std::string P = fmt::format("L{}/", l);
    const Shape qk = a.has_wo() ? Shape{E, NH, H} : Shape{E, H};
    b.q = param(P + "Qmat", "Dense", kernel(E, D, qk));
    b.k = param(P + "Kmat", "Dense", kernel(E, D, qk));
    b.v = a.has_wo() ? param(P + "Vmat", "Dense", kernel(E, D, qk)) : param(P + "Vmat", "Dense", kernel(E, E, {E, E}));
    if (a.has_wo()) b.o = param(P + "Omat", "Dense", kernel(D, E, Shape{NH, H, E}));
    if (a.norm) b.norm1 = norm_layer(P + "norm1");
    if (a.ffn > 0) {
      b.ffn1 = dense_layer(P + "ffn1", E, a.ffn);
      b.ffn2 = dense_layer(P + "ffn2", a.ffn, E);
    }
    if (a.norm && a.ffn > 0) b.norm2 = norm_layer(P + "norm2");
  }

  // The inputs [M*B, T] and the embedded sequence [M*B, T, E].
  const auto [pos_in, pos_offset] = make_inputs(corpus, a.pos);
  Var x = model_.record("XEmbed", "Embedding", embedding(ids_offset_, l_xembed->param()), {ids_}, l_xembed);  // [MB,T,E]
  if (a.pos) {
    Var pe = model_.record("PosEmbed", "Embedding", embedding(pos_offset, l_posembed->param()), {pos_in}, l_posembed);
    x = model_.record("XwithPos", "Add", add(x, pe), {x, pe});  // [MB,T,E]
  }
  // LayerNorm with Keras' epsilon; a stack's gamma and beta [M, E] hold one row per model (its B*T rows).
  auto norm = [&](const Var& in, const ParamLayer& p) { return layer_norm(in, p.param(0), p.param(1), 1e-3f); };

  const float scale_c = static_cast<float>(1.0 / std::sqrt(static_cast<double>(H)));
  const Tensor causal = a.mask ? causal_mask(T, dev) : Tensor();
  for (int64_t l = 0; l < a.layers; ++l) {
    const Block& b = blocks[static_cast<size_t>(l)];
    const std::string P = fmt::format("L{}/", l);
    Var q = model_.record(P + "Qmat", "Dense", dense(x, *b.q, E), {x}, b.q);  // [MB,T,NH*H]
    Var k = model_.record(P + "Kmat", "Dense", dense(x, *b.k, E), {x}, b.k);  // [MB,T,NH*H]
    Var v = dense(x, *b.v, E);                                                // [MB,T,NH*H] (no W_O: [MB,T,E])
    std::vector<Var> dots, lams, atts, outs;
    for (int64_t i = 0; i < NH; ++i) {
      Var qi = NH == 1 ? q : slice_last(q, i * H, H), ki = NH == 1 ? k : slice_last(k, i * H, H);  // [MB,T,H]
      Var vi = NH == 1 ? v : slice_last(v, i * H, H);
      dots.push_back(matmul(qi, ki, false, true));                  // [MB,T,T]
      lams.push_back(scale(dots.back(), scale_c));                  // [MB,T,T]
      atts.push_back(softmax(lams.back(), causal));                 // [MB,T,T]
      outs.push_back(matmul(atts.back(), vi));                      // [MB,T,H] (no W_O: [MB,T,E])
    }
    Var d = model_.record(P + "dot", "Dot", stack_heads(dots, MB, T), {q, k});                  // [MB,NH,T,T]
    Var s = model_.record(P + "lambda", "Lambda", stack_heads(lams, MB, T), {d});               // [MB,NH,T,T]
    Var w = model_.record(P + "AttnWts", "Softmax", stack_heads(atts, MB, T), {s});             // [MB,NH,T,T]
    v = model_.record(P + "Vmat", "Dense", v, {x}, b.v);
    Var o = model_.record(P + "Voutput", "Dot", NH == 1 ? outs[0] : concat_last(outs), {w, v});  // [MB,T,NH*H]
    if (b.o) o = model_.record(P + "Omat", "Dense", dense(o, *b.o, D), {o}, b.o);                  // [MB,T,E]
    x = a.residual ? model_.record(P + "skipadd", "Add", add(o, x), {o, x}) : o;                // [MB,T,E]
    if (b.norm1) x = model_.record(P + "norm1", "LayerNormalization", norm(x, *b.norm1), {x}, b.norm1);  // [MB,T,E]
    if (b.ffn1) {
      Var h = model_.record(P + "ffn1", "Dense", relu(dense(x, *b.ffn1, E)), {x}, b.ffn1);  // [MB,T,ffn]
      Var f = model_.record(P + "ffn2", "Dense", dense(h, *b.ffn2, a.ffn), {h}, b.ffn2);   // [MB,T,E]
      x = a.residual ? model_.record(P + "ffnadd", "Add", add(f, x), {f, x}) : f;
      if (b.norm2) x = model_.record(P + "norm2", "LayerNormalization", norm(x, *b.norm2), {x}, b.norm2);
    }
    attention_layers_.push_back(P + "AttnWts");
  }
  logits_layer_ = x.name();
  Var p = model_.record("activation", "Activation", sigmoid(x), {x});  // [MB,T,E]
  const int64_t groups = one ? 0 : M;  // a stack: one loss per model, summed for the graph's root
  loss_ = cfg_.loss == LossKind::Keras ? sparse_ce_logits(x, targets_, groups) : sparse_ce_probs(p, targets_, groups);
  loss_.named("loss");
  model_.compile(one ? loss_ : sum(loss_).named("loss_sum"));
}

}  // namespace toy
