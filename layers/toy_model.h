// The seed notebook's one-layer attention model (notebook 001), built layer by layer with Keras' names:
//   Xseqids · PosInput · XEmbed · PosEmbed · XwithPos · Qmat · Kmat · dot · lambda · AttnWts · Vmat · Voutput ·
//   skipadd · activation
// and its corpus: "<Start> man ordered the chicken" / "<Start> woman ordered the beef".
#pragma once
#include <string>
#include <vector>

#include "core/backend.h"
#include "layers/model.h"
#include "layers/toy_step.h"

namespace toy {

// Sentences as token ids over a vocabulary; every sequence has the same length T and starts with <ST> (id 0).
struct ToyCorpus {
  std::vector<std::string> vocab;         // id -> word, vocab[0] == "<ST>"
  std::vector<std::vector<int64_t>> seqs;  // [N][T] token ids
  int64_t vocab_size() const { return static_cast<int64_t>(vocab.size()); }
  int64_t seq_len() const { return seqs.empty() ? 0 : static_cast<int64_t>(seqs[0].size()); }
  int64_t size() const { return static_cast<int64_t>(seqs.size()); }
  // Target of position t: the next token; the last position predicts <ST>.
  int64_t target(int64_t seq, int64_t t) const;
};

// The notebook's corpus and vocabulary (<ST> the man chkn ordrd woman beef).
ToyCorpus notebook_corpus();
// One sentence per line (blank lines and lines starting with '#' ignored), whitespace-separated words; <ST> is
// prepended; the vocabulary is <ST> then words in order of first appearance. All sentences must have the same
// number of words. Errors name the file and line.
ToyCorpus load_corpus(const std::string& path);
ToyCorpus parse_corpus(const std::string& text, const std::string& source);

enum class LossKind { Keras, Normalized };
LossKind parse_loss(const std::string& s);  // "keras" | "normalized"
const char* loss_name(LossKind k);

// The model family (notebook 001's model and its variants). Every default reproduces the notebook's model: one block
// of one causally masked head with the residual add, no W_O, no feed-forward, no normalization, E = V.
//   x = XEmbed[ids] (+ PosEmbed[positions] with pos)
//   per block l:  q, k, v = x·Qmat, x·Kmat, x·Vmat            (per head: columns [i·H, (i+1)·H))
//                 AttnWts_i = softmax(q_i·k_iᵀ · f32(1/sqrt(H)), causal mask with `mask`)
//                 o = concat_i(AttnWts_i · v_i) (· Omat with W_O);  x = x + o (or o without `residual`)
//                 x = LayerNorm(x) with `norm`;  with ffn: x = x + relu(x·W1 + b1)·W2 + b2, then LayerNorm again
//   logits z = x, activation = sigmoid(z); the loss reads z (Keras) or the sigmoid (normalized).
// Without W_O the value projection keeps the notebook's [E, E] (one head only); with it (Keras'
// MultiHeadAttention layout) Qmat/Kmat/Vmat are [E, heads, H] and Omat [heads, H, E]. Norm is post-norm (after each
// residual add, as the Keras TransformerBlock example and the original transformer), LayerNorm epsilon 1e-3
// (Keras' default). Biases only in the feed-forward Dense layers (Keras' default there; the notebook's Dense layers
// have none).
struct ToyArch {
  int64_t heads = 1;   // attention heads, each of size H
  bool wo = false;     // output projection W_O; always on with heads > 1
  int64_t layers = 1;  // blocks
  int64_t ffn = 0;     // width of the position-wise feed-forward layer; 0 = none
  bool norm = false;   // LayerNorm after each residual add
  bool pos = true;     // learned positional embedding
  bool residual = true;
  bool mask = true;    // causal mask
  bool has_wo() const { return wo || heads > 1; }
  // All defaults: the notebook's model (its 14 layer names, its fused step).
  bool notebook() const;
  // The options that differ from the notebook's, e.g. "heads=2 ffn=16 no-pos"; "notebook" when none do.
  std::string describe() const;
  // Every option in range; errors name the flag (--heads, --layers, --ffn).
  void validate() const;
  bool operator==(const ToyArch&) const = default;
};

struct ToyConfig {
  int64_t H = 20;  // head size (per head)
  ToyArch arch;
  LossKind loss = LossKind::Keras;
  uint64_t seed = 1;  // weight initialization
  Device device = Device::CPU;
};

// The notebook model's five weight arrays, Keras layout (a Dense kernel is [in, out]).
inline const std::vector<std::string>& toy_weight_names() {
  static const std::vector<std::string> names{"XEmbed", "PosEmbed", "Qmat", "Kmat", "Vmat"};
  return names;
}
// The notebook model's 14 layer names in Keras' model.layers order.
const std::vector<std::string>& toy_layer_names();
// A variant's weight and layer names, in creation order (the notebook's lists for the default arch). A variant's
// block layers carry the prefix "L<block>/": L0/Qmat, L0/AttnWts [B, heads, T, T], L0/Omat, L0/norm1, L0/ffn1, ...
std::vector<std::string> toy_weight_names(const ToyArch& arch);
std::vector<std::string> toy_layer_names(const ToyArch& arch);

// Bytes a ToyModel of these sizes allocates (weights, gradients, optimizer state, every layer output and its
// gradient), an upper estimate computed before anything is allocated. E = V.
double toy_model_bytes(int64_t V, int64_t T, int64_t H, int64_t batch, int64_t models, const ToyArch& arch = {});

// One model, or M independent models of the same H stacked on a leading "model" axis (a sweep over seeds trained
// as one batch: every op serves all M models at once). Model m is initialized from seeds[m] exactly as a single
// model with that seed, and trains to bit-identical numbers (the kernels sum each model's terms in the same order).
// Shapes with M models: parameters XEmbed [M*V,E], PosEmbed [M*T,E], Qmat/Kmat [M,E,H], Vmat [M,E,V] (a variant's
// kernels [M, <Keras shape>], its feed-forward biases and LayerNorm gamma/beta [M,n]);
// activations [M*B, ...] (model m owns rows [m*B, (m+1)*B)); the loss is [M]. With M = 1 everything has the
// single-model shapes ([V,E], [E,H], [B,T,...], a scalar loss).
class ToyModel {
 public:
  // Build for a batch of `batch` sequences of the corpus (the first `batch` sequences are loaded as inputs).
  // seeds: one per stacked model (empty = the single model of cfg.seed).
  ToyModel(const ToyCorpus& corpus, const ToyConfig& cfg, int64_t batch, std::vector<uint64_t> seeds = {});
  int64_t models() const { return static_cast<int64_t>(seeds_.size()); }
  const std::vector<uint64_t>& seeds() const { return seeds_; }
  // Model m's weight / layer output with single-model shapes ([V,E], [E,H], [B,T,...]): a host copy.
  Tensor weight_of(const std::string& name, int64_t m) const;
  Tensor activation_of(const std::string& name, int64_t m) const;
  // Overwrite model m's block of a weight (single-model shape, e.g. [E,H] for Qmat) from a host tensor.
  void set_weight_of(const std::string& name, int64_t m, const Tensor& w);
  // The per-model losses of the last forward pass ([M] values; one for a single model).
  std::vector<float> losses() const;
  // Load sequences `rows[m]` of the corpus into model m's inputs and targets.
  void set_batch_models(const ToyCorpus& corpus, const std::vector<std::vector<int64_t>>& rows);

  // The weight and layer names of this model (toy_weight_names(arch), toy_layer_names(arch)).
  const std::vector<std::string>& weight_names() const { return weight_names_; }
  const std::vector<std::string>& layer_names() const { return layer_names_; }
  // The layer holding the logits z (the notebook's "skipadd"; a variant's last block output) and the attention
  // weights of every block ("AttnWts" [B, T, T]; a variant's "L<l>/AttnWts" [B, heads, T, T]).
  const std::string& logits_layer() const { return logits_layer_; }
  const std::vector<std::string>& attention_layers() const { return attention_layers_; }
  // Whether the fused step (layers/toy_step.h) computes this model: the notebook's arch only.
  bool fused_supported() const { return cfg_.arch.notebook(); }

  Model& model() { return model_; }
  const Model& model() const { return model_; }
  const ToyConfig& config() const { return cfg_; }
  int64_t batch() const { return batch_; }
  // Load sequences `rows` of the corpus into the inputs and targets (rows.size() == batch()).
  void set_batch(const ToyCorpus& corpus, const std::vector<int64_t>& rows);
  // Named weights (weight_names()).
  Var weight(const std::string& name) const;
  // Replace the weights; shapes must match (errors name the array and both shapes).
  void set_weights(const std::vector<std::pair<std::string, Tensor>>& weights);
  // The loss: a scalar for one model, [M] for a stack (the graph's root is then their sum).
  const Var& loss() const { return loss_; }
  // One training step's forward and backward. fused = false: the op-by-op graph (model().forward(), backward()).
  // fused = true: one kernel (layers/toy_step.h, one GPU block per model) that writes every named layer output, the
  // loss and the weights' gradients, computed as the graph computes them (bit-identical on the CPU at the notebook's
  // sizes); it leaves the graph's intermediate gradients (grad/<layer>) alone.
  void forward_backward(bool fused);
  // Whether the fused step writes the named activations (ToyStepArgs::activations; default true). false leaves
  // them stale after a fused step; the graph step and forward() always write them.
  void set_step_activations(bool on) { step_args_.activations = on; }
  bool step_activations() const { return step_args_.activations; }
  // Plain SGD inside the fused CPU step (ToyStepArgs::sgd_lr): lr = the optimizer's per-model learning rates
  // (Optimizer::plain_sgd_lr, read at every step); null turns it off. forward_backward(true) then also updates the
  // weights (the same bits as the step followed by SGD::step). lanes = true: a stack keeps its groups of eight
  // models' weights in SIMD lanes between steps; their weight tensors are stale, and their gradients not written,
  // until sync_weights() (weight_of, set_weight_of and turning it off sync), so it is for loops that read neither
  // mid-run (TrainStep with TrainOptions::weights_in_lanes).
  void set_step_sgd(const float* lr, bool lanes);
  bool step_sgd() const { return step_args_.sgd_lr != nullptr; }
  // Write weights kept in lanes back to the weight tensors (nothing when none are).
  void sync_weights() const;
  // The fused step's arguments (pointers into this model's tensors), e.g. to run its phases another way in tests.
  const ToyStepArgs& step_args() const { return step_args_; }

 private:
  // Builds a variant's graph (layers/toy_family.cpp); the notebook's is built in the constructor.
  void build_variant(const ToyCorpus& corpus);
  // The inputs [M*B, T]: "Xseqids" (raw token ids) and, with positions, "PosInput" (0..T-1), what the dump shows;
  // their copies offset per model (ids by m*V, positions by m*T: model m gathers from its own block of the stacked
  // tables), the targets, and the corpus' first B sequences loaded into every model. Returns (PosInput, its offset
  // copy), both undefined without positions.
  std::pair<Var, Var> make_inputs(const ToyCorpus& corpus, bool positions);
  // A Dense layer on x [M*B, T, n_in]: p's kernel in Keras layout, any shape of n_in x out values per model (Qmat
  // [E, H] or [E, heads, H], Omat [heads, H, E]), and with a second weight its bias [out]. One model folds its B*T
  // rows into one product with the [n_in, out] view; a stack multiplies [M, B*T, n_in] by [M, n_in, out] item by item
  // (the same loop per model), adds the bias [M, out] as [M, 1, out] to each model's rows, and views the result as
  // [M*B, T, out].
  Var dense(const Var& x, const ParamLayer& p, int64_t n_in) const;
  ToyConfig cfg_;
  std::vector<std::string> weight_names_, layer_names_, attention_layers_;
  std::string logits_layer_ = "skipadd";
  int64_t batch_, T_, V_;
  std::vector<uint64_t> seeds_;
  Model model_;
  Var ids_, ids_offset_, targets_, loss_;
  ToyStepArgs step_args_;  // the fused step's pointers into the graph's tensors (fixed for the model's life)
  Tensor step_scratch_;
  std::vector<float> lane_weights_;  // set_step_sgd(lr, true)'s ToyStepArgs::lane_weights
};

}  // namespace toy
