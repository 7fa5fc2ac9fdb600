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

struct ToyConfig {
  int64_t H = 20;  // head size
  LossKind loss = LossKind::Keras;
  uint64_t seed = 1;  // weight initialization
  Device device = Device::CPU;
};

// The five weight arrays, Keras layout (a Dense kernel is [in, out]).
inline const std::vector<std::string>& toy_weight_names() {
  static const std::vector<std::string> names{"XEmbed", "PosEmbed", "Qmat", "Kmat", "Vmat"};
  return names;
}
// The 14 layer names in Keras' model.layers order.
const std::vector<std::string>& toy_layer_names();

// Bytes a ToyModel of these sizes allocates (weights, gradients, optimizer state, every layer output and its
// gradient), an upper estimate computed before anything is allocated. E = V.
double toy_model_bytes(int64_t V, int64_t T, int64_t H, int64_t batch, int64_t models);

// One model, or M independent models of the same H stacked on a leading "model" axis (a sweep over seeds trained
// as one batch: every op serves all M models at once). Model m is initialized from seeds[m] exactly as a single
// model with that seed, and trains to bit-identical numbers (the kernels sum each model's terms in the same order).
// Shapes with M models: parameters XEmbed [M*V,E], PosEmbed [M*T,E], Qmat/Kmat [M,E,H], Vmat [M,E,V];
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

  Model& model() { return model_; }
  const Model& model() const { return model_; }
  const ToyConfig& config() const { return cfg_; }
  int64_t batch() const { return batch_; }
  // Load sequences `rows` of the corpus into the inputs and targets (rows.size() == batch()).
  void set_batch(const ToyCorpus& corpus, const std::vector<int64_t>& rows);
  // Named weights (XEmbed, PosEmbed, Qmat, Kmat, Vmat).
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
  // The fused step's arguments (pointers into this model's tensors), e.g. to run its phases another way in tests.
  const ToyStepArgs& step_args() const { return step_args_; }

 private:
  ToyConfig cfg_;
  int64_t batch_, T_, V_;
  std::vector<uint64_t> seeds_;
  Model model_;
  Var ids_, ids_offset_, targets_, loss_;
  ToyStepArgs step_args_;  // the fused step's pointers into the graph's tensors (fixed for the model's life)
  Tensor step_scratch_;
};

}  // namespace toy
