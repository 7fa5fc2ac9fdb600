// The toy attention model of notebook 001 and its corpus.
#include "layers/toy_model.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>
#include <string_view>
#include <unordered_map>

#include <fmt/ranges.h>

#include "core/error.h"
#include "core/memory.h"
#include "core/utf8.h"
#include "layers/toy_step.h"

namespace toy {

int64_t ToyCorpus::target(int64_t seq, int64_t t) const {
  const auto& s = seqs.at(static_cast<size_t>(seq));
  return t + 1 < static_cast<int64_t>(s.size()) ? s[t + 1] : s[0];
}

ToyCorpus notebook_corpus() {
  ToyCorpus c;
  c.vocab = {"<ST>", "the", "man", "chkn", "ordrd", "woman", "beef"};
  c.seqs = {{0, 2, 4, 1, 3}, {0, 5, 4, 1, 6}};
  return c;
}

ToyCorpus parse_corpus(const std::string& text_in, const std::string& source) {
  ToyCorpus c;
  c.vocab = {"<ST>"};
  std::unordered_map<std::string, int64_t> ids_of{{"<ST>", 0}};
  // A UTF-8 byte-order mark at the start is not part of the first word.
  const std::string_view text = std::string_view(text_in).substr(text_in.rfind("\xEF\xBB\xBF", 0) == 0 ? 3 : 0);
  std::istringstream in{std::string(text)};
  std::string line;
  int lineno = 0;
  int64_t first_len = -1;
  int first_line = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (const size_t bad = invalid_utf8_at(line); bad != std::string::npos)
      fail("{}:{}: not valid UTF-8 at byte {} of the line (the corpus must be UTF-8 text)", source, lineno, bad + 1);
    std::istringstream ws(line);
    std::vector<std::string> words;
    for (std::string w; ws >> w;) words.push_back(w);
    if (words.empty() || words[0][0] == '#') continue;
    if (words[0] == "<ST>" || words[0] == "<Start>") words.erase(words.begin());
    TOY_CHECK(!words.empty(), "{}:{}: a sentence needs at least one word after <ST>", source, lineno);
    std::vector<int64_t> ids{0};
    for (const auto& w : words) {
      TOY_CHECK(w != "<ST>" && w != "<Start>", "{}:{}: <ST> may only start a sentence", source, lineno);
      const auto [it, fresh] = ids_of.emplace(w, static_cast<int64_t>(c.vocab.size()));
      if (fresh) c.vocab.push_back(w);
      ids.push_back(it->second);
    }
    if (first_len < 0) {
      first_len = static_cast<int64_t>(ids.size());
      first_line = lineno;
    }
    TOY_CHECK(static_cast<int64_t>(ids.size()) == first_len,
              "{}:{}: sentence has {} words but line {} has {} (all sentences must have the same length)", source,
              lineno, ids.size() - 1, first_line, first_len - 1);
    c.seqs.push_back(std::move(ids));
  }
  TOY_CHECK(!c.seqs.empty(), "{}: no sentences (one sentence per line expected)", source);
  return c;
}

ToyCorpus load_corpus(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  TOY_CHECK(f.good(), "corpus: cannot open '{}'", path);
  std::stringstream ss;
  ss << f.rdbuf();
  return parse_corpus(ss.str(), path);
}

LossKind parse_loss(const std::string& s) {
  if (s == "keras") return LossKind::Keras;
  if (s == "normalized") return LossKind::Normalized;
  fail("loss: unknown '{}' (expected keras or normalized)", s);
}

const char* loss_name(LossKind k) { return k == LossKind::Keras ? "keras" : "normalized"; }

const std::vector<std::string>& toy_layer_names() {
  static const std::vector<std::string> names{"Xseqids", "PosInput", "XEmbed",  "PosEmbed", "XwithPos",
                                              "Qmat",    "Kmat",     "dot",     "lambda",   "AttnWts",
                                              "Vmat",    "Voutput",  "skipadd", "activation"};
  return names;
}

namespace {
// Copy `src` (host) into the m-th of M equal consecutive blocks of `dst` (host).
void put_block(Tensor& dst, const Tensor& src, int64_t m) {
  std::copy(src.data(), src.data() + src.numel(), dst.data() + m * src.numel());
}
}  // namespace

double toy_model_bytes(int64_t V, int64_t T, int64_t H, int64_t batch, int64_t models, const ToyArch& arch) {
  const double v = static_cast<double>(V), t = static_cast<double>(T), h = static_cast<double>(H * arch.heads),
               b = static_cast<double>(batch), m = static_cast<double>(models), f = static_cast<double>(arch.ffn),
               L = static_cast<double>(arch.layers), nh = static_cast<double>(arch.heads);
  // XEmbed [V,V], PosEmbed [T,V]; per block Q, K [V,h], V [V,V] or [V,h] + W_O [h,V], LayerNorm, FFN
  const double weights = v * v + t * v + L * (2 * v * h + v * v + v * h + h * v + 4 * v + 2 * v * f + f + v);
  // the inputs and embeddings, then per block: projections, per-head scores (and their stacked copies), outputs
  const double layers = b * t * (3 * v + 3 + L * (3 * h + v + 6 * nh * t + h + 6 * v + 2 * f));
  return 4.0 * m * (4 * weights + 2 * layers + 2 * b * t * t);  // + grads, 2 optimizer slots; scratch
}

ToyModel::ToyModel(const ToyCorpus& corpus, const ToyConfig& cfg, int64_t batch, std::vector<uint64_t> seeds)
    : cfg_(cfg), batch_(batch), T_(corpus.seq_len()), V_(corpus.vocab_size()), seeds_(std::move(seeds)) {
  if (seeds_.empty()) seeds_.push_back(cfg.seed);
  TOY_CHECK(cfg.H > 0, "toy model: H must be positive, got {}", cfg.H);
  cfg.arch.validate();
  weight_names_ = toy_weight_names(cfg.arch);
  layer_names_ = toy_layer_names(cfg.arch);
  TOY_CHECK(batch > 0 && batch <= corpus.size(), "toy model: batch {} must be in [1, {}] (corpus size)", batch,
            corpus.size());
  const double need = toy_model_bytes(V_, T_, cfg.H, batch, models(), cfg.arch);
  TOY_CHECK(need <= memory_budget_bytes(),
            "toy model: H={}, a vocabulary of {}, {} positions, batch {}{} need about {} of memory; this machine "
            "allows {} (fewer positions per sentence, a smaller H or batch)",
            cfg.H, V_, T_, batch, models() > 1 ? fmt::format(", {} stacked models", models()) : std::string(),
            human_bytes(need), human_bytes(memory_budget_bytes()));
  if (!cfg.arch.notebook()) {
    build_variant(corpus);
    return;
  }
  attention_layers_ = {"AttnWts"};
  const int64_t M = models(), B = batch, T = T_, V = V_, E = V_, H = cfg.H;
  const Device dev = cfg.device;

  // Each model's weights come from its own Rng in Keras' layer-build order: XEmbed, PosEmbed, Qmat, Kmat, Vmat.
  const bool one = M == 1;
  Tensor xembed = Tensor::empty(Shape{M * V, E}), posembed = Tensor::empty(Shape{M * T, E});
  Tensor wq = Tensor::empty(one ? Shape{E, H} : Shape{M, E, H}), wk = Tensor::empty(wq.shape());
  Tensor wv = Tensor::empty(one ? Shape{E, V} : Shape{M, E, V});
  for (int64_t m = 0; m < M; ++m) {
    Rng rng(seeds_[static_cast<size_t>(m)]);
    put_block(xembed, init::uniform(Shape{V, E}, rng), m);
    put_block(posembed, init::uniform(Shape{T, E}, rng), m);
    put_block(wq, init::glorot_uniform(Shape{E, H}, rng), m);
    put_block(wk, init::glorot_uniform(Shape{E, H}, rng), m);
    put_block(wv, init::glorot_uniform(Shape{E, V}, rng), m);
  }
  auto layer = [&](const char* name, const char* type, const Tensor& w) {
    return model_.add_layer(std::make_shared<ParamLayer>(name, type, dev == Device::CPU ? w : w.to(dev)));
  };
  auto l_xembed = layer("XEmbed", "Embedding", xembed), l_posembed = layer("PosEmbed", "Embedding", posembed);
  auto l_q = layer("Qmat", "Dense", wq), l_k = layer("Kmat", "Dense", wk), l_v = layer("Vmat", "Dense", wv);

  const auto [pos_in, pos_offset] = make_inputs(corpus, true);
  // f32(1/sqrt(H)) as the notebook's tf.constant(np.divide(1, np.sqrt(H)), tf.float32).
  const float scale_c = static_cast<float>(1.0 / std::sqrt(static_cast<double>(H)));
  Var xe = model_.record("XEmbed", "Embedding", embedding(ids_offset_, l_xembed->param()), {ids_}, l_xembed);  // [MB,T,E]
  Var pe = model_.record("PosEmbed", "Embedding", embedding(pos_offset, l_posembed->param()), {pos_in},
                         l_posembed);                                                                  // [MB,T,E]
  Var x = model_.record("XwithPos", "Add", add(xe, pe), {xe, pe});                                     // [MB,T,E]
  Var q = model_.record("Qmat", "Dense", dense(x, *l_q, E), {x}, l_q);                                 // [MB,T,H]
  Var k = model_.record("Kmat", "Dense", dense(x, *l_k, E), {x}, l_k);                                 // [MB,T,H]
  Var d = model_.record("dot", "Dot", matmul(q, k, false, true), {q, k});                              // [MB,T,T]
  Var s = model_.record("lambda", "Lambda", scale(d, scale_c), {d});                                   // [MB,T,T]
  Var a = model_.record("AttnWts", "Softmax", softmax(s, causal_mask(T, dev)), {s});                   // [MB,T,T]
  Var vm = model_.record("Vmat", "Dense", dense(x, *l_v, E), {x}, l_v);                                // [MB,T,V]
  Var vo = model_.record("Voutput", "Dot", matmul(a, vm), {a, vm});                                    // [MB,T,V]
  Var z = model_.record("skipadd", "Add", add(vo, x), {vo, x});                                        // [MB,T,V]
  Var p = model_.record("activation", "Activation", sigmoid(z), {z});                                  // [MB,T,V]
  // Keras reads the cached pre-sigmoid logits (skipadd) for the default loss; "normalized" uses the sigmoid output.
  const int64_t groups = one ? 0 : M;
  loss_ = cfg.loss == LossKind::Keras ? sparse_ce_logits(z, targets_, groups) : sparse_ce_probs(p, targets_, groups);
  loss_.named("loss");
  // The models are independent: the gradient of the summed losses is each model's own gradient.
  model_.compile(one ? loss_ : sum(loss_).named("loss_sum"));

  // The fused step reads and writes the same tensors the graph does (compile() gave the weights their gradients).
  ToyStepArgs& sa = step_args_;
  sa.models = M, sa.B = B, sa.T = T, sa.V = V, sa.H = H;
  sa.normalized_loss = cfg.loss == LossKind::Normalized;
  sa.scale = scale_c;
  sa.ids = ids_.value().data(), sa.targets = targets_.value().data();
  sa.xembed = l_xembed->param().value().data(), sa.posembed = l_posembed->param().value().data();
  sa.wq = l_q->param().value().data(), sa.wk = l_k->param().value().data(), sa.wv = l_v->param().value().data();
  sa.xe = xe.value().data(), sa.pe = pe.value().data(), sa.x = x.value().data(), sa.q = q.value().data();
  sa.k = k.value().data(), sa.dot = d.value().data(), sa.lam = s.value().data(), sa.attn = a.value().data();
  sa.vm = vm.value().data(), sa.vo = vo.value().data(), sa.z = z.value().data(), sa.p = p.value().data();
  sa.loss = loss_.value().data();
  sa.d_xembed = l_xembed->param().grad().data(), sa.d_posembed = l_posembed->param().grad().data();
  sa.d_wq = l_q->param().grad().data(), sa.d_wk = l_k->param().grad().data(), sa.d_wv = l_v->param().grad().data();
  // The step indexes with int: every per-stack array must stay below 2^31 elements.
  const int64_t per_model = toystep::scratch_per_model(B, T, V, H);
  TOY_CHECK(M * per_model < (int64_t{1} << 31) && M * std::max(V * E, E * H) < (int64_t{1} << 31),
            "toy model: {} models of B={} T={} V={} H={} are too large for the fused step", M, B, T, V, H);
  step_scratch_ = Tensor::zeros(Shape{M * per_model}, dev);
  sa.scratch = step_scratch_.data();
}

std::pair<Var, Var> ToyModel::make_inputs(const ToyCorpus& corpus, bool positions) {
  const int64_t M = models(), B = batch_, T = T_, MB = M * B;
  const Device dev = cfg_.device;
  const bool one = M == 1;
  ids_ = model_.input("Xseqids", Tensor::zeros(Shape{MB, T}, dev));
  ids_offset_ = one ? ids_ : Var::constant(Tensor::zeros(Shape{MB, T}, dev), "Xseqids+offset");
  Var pos_in, pos_offset;
  if (positions) {
    Tensor pos = Tensor::empty(Shape{MB, T}), pos_off = Tensor::empty(Shape{MB, T});
    for (int64_t r = 0; r < MB; ++r)
      for (int64_t t = 0; t < T; ++t) {
        pos[r * T + t] = static_cast<float>(t);
        pos_off[r * T + t] = static_cast<float>(r / B * T + t);
      }
    pos_in = model_.input("PosInput", pos.to(dev));
    pos_offset = one ? pos_in : Var::constant(pos_off.to(dev), "PosInput+offset");
  }
  targets_ = Var::constant(Tensor::zeros(Shape{MB, T}, dev), "targets");
  std::vector<int64_t> first(static_cast<size_t>(B));
  for (int64_t b = 0; b < B; ++b) first[static_cast<size_t>(b)] = b;
  set_batch(corpus, first);
  return {pos_in, pos_offset};
}

Var ToyModel::dense(const Var& x, const ParamLayer& p, int64_t n_in) const {
  const int64_t M = models(), B = batch_, T = T_;
  const Shape& s = p.param().shape();
  const int64_t out = s.numel() / (M * n_in);
  const bool bias = p.params().size() > 1;
  if (M == 1) {
    Var y = matmul(x, s.rank() == 2 ? p.param() : reshape(p.param(), Shape{n_in, out}));  // [B,T,out]
    return bias ? add(y, p.param(1)) : y;
  }
  Var y = matmul(reshape(x, Shape{M, B * T, n_in}), s.rank() == 3 ? p.param() : reshape(p.param(), Shape{M, n_in, out}));
  if (bias) y = add(y, reshape(p.param(1), Shape{M, 1, out}));  // [M,BT,out]
  return reshape(y, Shape{M * B, T, out});
}

void ToyModel::forward_backward(bool fused) {
  if (!fused) {
    TOY_CHECK(!step_sgd(), "toy model: SGD inside the step needs the fused step (set_step_sgd(nullptr, ...) first)");
    model_.forward();
    model_.backward();
    return;
  }
  TOY_CHECK(fused_supported(), "toy model: the fused step computes the notebook's model only, not '{}' (use the graph "
            "step: --step graph or auto)", cfg_.arch.describe());
  run_toy_step(cfg_.device, step_args_);
  if (step_args_.lane_weights) step_args_.lane_weights_current = true;
}

void ToyModel::set_step_sgd(const float* lr, bool lanes) {
  TOY_CHECK(!lr || (cfg_.device == Device::CPU && fused_supported()),
            "toy model: SGD inside the step needs the notebook's model on the CPU");
  sync_weights();
  step_args_.sgd_lr = lr;
  step_args_.lane_weights_current = false;
  step_args_.lane_weights = nullptr;
  lane_weights_.clear();
  lane_weights_.shrink_to_fit();
  if (lr && lanes && models() >= 8) {
    lane_weights_.resize(static_cast<size_t>(toy_lane_weights_floats(step_args_)));
    step_args_.lane_weights = lane_weights_.data();
  }
}

void ToyModel::sync_weights() const { toy_lane_weights_out(step_args_); }

void ToyModel::set_batch(const ToyCorpus& corpus, const std::vector<int64_t>& rows) {
  set_batch_models(corpus, std::vector<std::vector<int64_t>>(static_cast<size_t>(models()), rows));
}

void ToyModel::set_batch_models(const ToyCorpus& corpus, const std::vector<std::vector<int64_t>>& rows) {
  TOY_CHECK(static_cast<int64_t>(rows.size()) == models(), "toy model: rows for {} models given, the stack has {}",
            rows.size(), models());
  TOY_CHECK(corpus.seq_len() == T_ && corpus.vocab_size() == V_,
            "toy model: corpus (T={}, V={}) does not match the model (T={}, V={})", corpus.seq_len(),
            corpus.vocab_size(), T_, V_);
  const int64_t MB = models() * batch_;
  std::vector<float> ids(static_cast<size_t>(MB * T_)), off(ids.size()), tg(ids.size());
  for (int64_t m = 0; m < models(); ++m) {
    const auto& mr = rows[static_cast<size_t>(m)];
    TOY_CHECK(static_cast<int64_t>(mr.size()) == batch_, "toy model: {} rows given for a batch of {}", mr.size(),
              batch_);
    for (int64_t b = 0; b < batch_; ++b) {
      const int64_t r = mr[static_cast<size_t>(b)];
      TOY_CHECK(r >= 0 && r < corpus.size(), "toy model: row {} out of range [0, {})", r, corpus.size());
      for (int64_t t = 0; t < T_; ++t) {
        const size_t i = static_cast<size_t>(((m * batch_) + b) * T_ + t);
        ids[i] = static_cast<float>(corpus.seqs[static_cast<size_t>(r)][static_cast<size_t>(t)]);
        off[i] = ids[i] + static_cast<float>(m * V_);
        tg[i] = static_cast<float>(corpus.target(r, t));
      }
    }
  }
  ids_.value().copy_from(Tensor::from(Shape{MB, T_}, ids));
  if (models() > 1) ids_offset_.value().copy_from(Tensor::from(Shape{MB, T_}, off));
  targets_.value().copy_from(Tensor::from(Shape{MB, T_}, tg));
}

Var ToyModel::weight(const std::string& name) const {
  for (const Var& p : model_.params())
    if (p.name() == name) return p;
  fail("toy model: no weight named '{}' (weights: {})", name, fmt::join(weight_names_, ", "));
}

namespace {
// Block m of M equal consecutive blocks of a (device) tensor, as a host tensor of `shape`.
Tensor block(const Tensor& stacked, int64_t m, int64_t M, const Shape& shape) {
  std::vector<float> all = stacked.to_vector();
  const int64_t n = stacked.numel() / M;
  return Tensor::from(shape, std::span<const float>(all.data() + m * n, static_cast<size_t>(n)));
}
}  // namespace

Tensor ToyModel::weight_of(const std::string& name, int64_t m) const {
  TOY_CHECK(m >= 0 && m < models(), "toy model: model {} out of range [0, {})", m, models());
  sync_weights();
  const Tensor& w = weight(name).value();
  if (models() == 1) return w.to(Device::CPU);
  // A stacked weight's block of model m: [V, E] / [T, E] of the embeddings' [M*rows, E], else its Keras shape
  // after the model axis.
  Shape shape = name == "XEmbed" ? Shape{V_, V_} : name == "PosEmbed" ? Shape{T_, V_} : w.shape().suffix(w.shape().rank() - 1);
  return block(w, m, models(), shape);
}

void ToyModel::set_weight_of(const std::string& name, int64_t m, const Tensor& w) {
  TOY_CHECK(m >= 0 && m < models(), "toy model: model {} out of range [0, {})", m, models());
  Tensor& all = weight(name).value();
  const int64_t n = all.numel() / models();
  TOY_CHECK(w.numel() == n, "toy model: weight '{}' of one model has {} values, got ({})", name, n, w.shape().str());
  sync_weights();  // then the lanes read every weight in again at the next step
  step_args_.lane_weights_current = false;
  backend(all.device()).copy_from_host(all.data() + m * n, w.to(Device::CPU).data(), static_cast<size_t>(n));
}

Tensor ToyModel::activation_of(const std::string& name, int64_t m) const {
  TOY_CHECK(m >= 0 && m < models(), "toy model: model {} out of range [0, {})", m, models());
  const Tensor& a = model_.output(name).value();
  Shape shape{batch_};
  for (int i = 1; i < a.shape().rank(); ++i) shape = shape.append(a.shape()[i]);
  return block(a, m, models(), shape);
}

std::vector<float> ToyModel::losses() const { return loss_.value().to_vector(); }

void ToyModel::set_weights(const std::vector<std::pair<std::string, Tensor>>& weights) {
  TOY_CHECK(models() == 1, "toy model: set_weights needs a single model (this stack has {})", models());
  for (const auto& [name, t] : weights) {
    Var w = weight(name);
    TOY_CHECK(t.shape() == w.shape(), "weights: array '{}' has shape ({}) but the model needs ({})", name,
              t.shape().str(), w.shape().str());
    const std::vector<float> v = t.to_vector();
    const auto bad = std::find_if(v.begin(), v.end(), [](float x) { return !std::isfinite(x); });
    TOY_CHECK(bad == v.end(), "weights: array '{}' holds a non-finite value ({} at flat index {})", name, *bad,
              bad - v.begin());
    w.value().copy_from(t);
  }
  model_.forward();
}

}  // namespace toy
