// The toy model's variants (ToyArch in layers/toy_model.h): heads with W_O, stacked blocks, a feed-forward layer,
// LayerNorm and the ablations, built from the engine's ops. The notebook's own model is built in toy_model.cpp
// (its 14 layers, its fused step); everything here runs on the op-by-op graph, one model at a time.
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
  TOY_CHECK(one || toy_stackable(a), "toy model: the variant '{}' trains one model at a time (a stack of {} "
            "needs per-model feed-forward biases and LayerNorm parameters, which the engine cannot broadcast yet)",
            a.describe(), M);

  // The weights, drawn from each model's own Rng in name order (as the notebook's: embeddings, then each block's
  // kernels), so a model in a stack starts as it starts alone. A stack holds model m's block of every weight at
  // index m of a leading model axis (the embeddings as [M*V, E] and [M*T, E], read through offset ids).
  std::vector<Rng> rngs;
  for (uint64_t seed : seeds_) rngs.emplace_back(seed);
  auto on_dev = [&](std::shared_ptr<Layer> l) {
    l->to(dev);
    return l;
  };
  auto param = [&](const std::string& name, const char* type, Tensor w) {
    return model_.add_layer(std::make_shared<ParamLayer>(name, type, dev == Device::CPU ? w : w.to(dev)));
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
  auto l_xembed = param("XEmbed", "Embedding", embed(V_));
  std::shared_ptr<ParamLayer> l_posembed;
  if (a.pos) l_posembed = param("PosEmbed", "Embedding", embed(T));
  struct Block {
    std::shared_ptr<ParamLayer> q, k, v, o;
    std::shared_ptr<Layer> norm1, norm2, ffn1, ffn2;
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
    // One model only (checked above): the layers draw their kernels from its Rng.
    if (a.norm) b.norm1 = on_dev(model_.add_layer(std::make_shared<LayerNorm>(P + "norm1", E)));
    if (a.ffn > 0) {
      b.ffn1 = on_dev(model_.add_layer(std::make_shared<Dense>(P + "ffn1", E, a.ffn, rngs[0], true, Activation::Relu)));
      b.ffn2 = on_dev(model_.add_layer(std::make_shared<Dense>(P + "ffn2", a.ffn, E, rngs[0])));
    }
    if (a.norm && a.ffn > 0) b.norm2 = on_dev(model_.add_layer(std::make_shared<LayerNorm>(P + "norm2", E)));
  }

  // Inputs [M*B, T] and the embedded sequence [M*B, T, E]. The embeddings read ids offset by m*V (positions by m*T)
  // so model m gathers from its own block of the stacked tables.
  ids_ = model_.input("Xseqids", Tensor::zeros(Shape{MB, T}, dev));
  ids_offset_ = one ? ids_ : Var::constant(Tensor::zeros(Shape{MB, T}, dev), "Xseqids+offset");
  Var pos_in, pos_offset;
  if (a.pos) {
    Tensor pos = Tensor::empty(Shape{MB, T}), pos_off = Tensor::empty(Shape{MB, T});
    for (int64_t i = 0; i < MB * T; ++i) {
      pos[i] = static_cast<float>(i % T);
      pos_off[i] = static_cast<float>(i / (B * T) * T + i % T);
    }
    pos_in = model_.input("PosInput", pos.to(dev));
    pos_offset = one ? pos_in : Var::constant(pos_off.to(dev), "PosInput+offset");
  }
  targets_ = Var::constant(Tensor::zeros(Shape{MB, T}, dev), "targets");
  std::vector<std::vector<int64_t>> rows(static_cast<size_t>(M));
  for (auto& r : rows)
    for (int64_t b = 0; b < B; ++b) r.push_back(b);
  set_batch_models(corpus, rows);
  Var x = model_.record("XEmbed", "Embedding", embedding(ids_offset_, l_xembed->param()), {ids_}, l_xembed);  // [MB,T,E]
  if (a.pos) {
    Var pe = model_.record("PosEmbed", "Embedding", embedding(pos_offset, l_posembed->param()), {pos_in}, l_posembed);
    x = model_.record("XwithPos", "Add", add(x, pe), {x, pe});  // [MB,T,E]
  }
  // A Dense layer without bias on x [MB, T, n_in] with a Keras-layout kernel of n_in inputs (Qmat [E, NH, H] and
  // Omat [NH, H, E] are the matrices [E, NH*H] and [NH*H, E]): one model folds its B*T rows into one product with
  // the [n_in, out] view; a stack multiplies [M, B*T, n_in] by [M, n_in, out] item by item (the same loop per
  // model), then views the result as [MB, T, out].
  auto dense = [&](const Var& in, const ParamLayer& p, int64_t n_in) {
    const Shape& s = p.param().shape();
    const int64_t out = s.numel() / (M * n_in);
    if (one) return matmul(in, s.rank() == 2 ? p.param() : reshape(p.param(), Shape{n_in, out}));
    Var w = reshape(p.param(), Shape{M, n_in, out});
    return reshape(matmul(reshape(in, Shape{M, B * T, n_in}), w), Shape{MB, T, out});
  };

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
    if (b.norm1) x = model_.record(P + "norm1", "LayerNormalization", (*std::static_pointer_cast<LayerNorm>(b.norm1))(x), {x}, b.norm1);
    if (b.ffn1) {
      const Dense &f1 = static_cast<const Dense&>(*b.ffn1), &f2 = static_cast<const Dense&>(*b.ffn2);
      Var h = model_.record(P + "ffn1", "Dense", f1(x), {x}, b.ffn1);   // [B,T,ffn], relu
      Var f = model_.record(P + "ffn2", "Dense", f2(h), {h}, b.ffn2);   // [B,T,E]
      x = a.residual ? model_.record(P + "ffnadd", "Add", add(f, x), {f, x}) : f;
      if (b.norm2)
        x = model_.record(P + "norm2", "LayerNormalization", (*std::static_pointer_cast<LayerNorm>(b.norm2))(x), {x}, b.norm2);
    }
    attention_layers_.push_back(P + "AttnWts");
  }
  logits_layer_ = x.name();
  Var p = model_.record("activation", "Activation", sigmoid(x), {x});  // [B,T,E]
  const int64_t groups = one ? 0 : M;  // a stack: one loss per model, summed for the graph's root
  loss_ = cfg_.loss == LossKind::Keras ? sparse_ce_logits(x, targets_, groups) : sparse_ce_probs(p, targets_, groups);
  loss_.named("loss");
  model_.compile(one ? loss_ : sum(loss_).named("loss_sum"));
}

}  // namespace toy
