// Run records: what `train --out DIR` stores (run.json, weights.npz, activations.npz) and reads back, and the
// vocabulary entry of activation dumps. The HTML pages and figures of a record are apps/lib/visual/report.h.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "apps/lib/training/verdict.h"
#include "core/npz.h"
#include "layers/toy_model.h"

namespace toy {

// Activation dumps (`train --dump-activations`, DIR/activations.npz) hold the 14 layer outputs, `loss` and `lr`,
// then `vocab`: the vocabulary as Unicode code points, float32 [V, L] (L = the longest word, zero-padded), so
// numpy reads it back with ["".join(map(chr, w[w > 0].astype(int))) for w in d["vocab"]].
constexpr const char* kDumpVocab = "vocab";
Tensor vocab_tensor(const std::vector<std::string>& vocab);
std::vector<std::string> vocab_from_tensor(const Tensor& t);  // throws when t is not [V, L] of code points

// The dump of a model whose graph holds the whole corpus: every layer (the notebook's 14, a variant's own list), loss
// and lr per epoch, vocab.
NpzArrays activation_arrays(const Model& view, const std::vector<float>& loss, const std::vector<float>& lr,
                            const std::vector<std::string>& vocab);

// The corpus as JSON ({"vocab": [...], "sequences": [[ids...]...]}) and back.
nlohmann::json corpus_json(const ToyCorpus& c);
ToyCorpus corpus_from_json(const nlohmann::json& j);

// A finished training run.
struct RunRecord {
  nlohmann::json config;  // the train flags that decide the numbers (H, seed, epochs, optimizer, ...)
  ToyArch arch;           // the model variant (config's heads, layers, ...; the notebook's model when it has none)
  ToyCorpus corpus;
  std::vector<float> loss, lr;      // per epoch
  std::vector<int64_t> reductions;  // 0-based epochs at whose end the lr was reduced
  float final_loss = 0, final_lr = 0;
  Verdict verdict;       // outcome, share, the judged positions
  LossLevels levels;     // the corpus' loss floor and undecided level
  bool stopped_early = false;
  // See verdict.h: attention_to_evidence; a variant's is the strongest head's (the maximum over blocks and heads).
  float attn_the_to_subject = 0;
  // A variant's attention_to_evidence of every head, per attention layer: {"L0/AttnWts", [h0, h1]}, ...; empty for
  // the notebook's model.
  std::vector<std::pair<std::string, std::vector<float>>> attn_heads;
  int64_t params = 0;
  double us_per_step = 0;
  Tensor activation;  // [N, T, V] over the whole corpus at the final weights
  // Every attention layer over the whole corpus at the final weights (attention_layer_names(arch)): the notebook's
  // AttnWts [N, T, T]; a variant's L<block>/AttnWts [N, heads, T, T].
  NpzArrays attention;
  // Optional further arrays of the dump (record_chain_layers, record_snapshot_arrays): the layers of the report's
  // attention chain (the notebook's dot, lambda [N, T, T], Voutput, skipadd [N, T, V]; a variant's block input and
  // block layers, dot and lambda [N, heads, T, T]) and the snapshots epochs [S] + <attention layer>@epochs
  // [S, <its shape>] (the epoch slider and the small multiples), activation@epochs [S, N, T, V] (the slider's
  // prediction tables) and share@epochs [S, J] (the judged positions' shares over training). Sections whose arrays
  // are missing are left out.
  NpzArrays layers;
  const Tensor* layer(const std::string& name) const;
};

// The attention layers of a model variant: the notebook's AttnWts; a variant's L0/AttnWts, L1/AttnWts, ...
std::vector<std::string> attention_layer_names(const ToyArch& arch);
// The layers a run record keeps for the attention chain: the notebook's dot, lambda, Voutput, skipadd; a variant's
// block input (XwithPos, or XEmbed without pos) and every block layer but Qmat, Kmat, Vmat and AttnWts.
std::vector<std::string> record_chain_layers(const ToyArch& arch);
// The snapshot arrays a run record keeps: epochs, share@epochs, <attention layer>@epochs, activation@epochs.
std::vector<std::string> record_snapshot_arrays(const ToyArch& arch);
// The model variant of a run.json config (its heads, wo, layers, ffn, norm, pos, residual and mask keys; the
// notebook's model without them); errors name the key.
ToyArch run_arch(const nlohmann::json& config);
// attention_to_evidence of every head of a variant's attention layers (`attention`, as RunRecord holds them); empty
// for the notebook's model.
std::vector<std::pair<std::string, std::vector<float>>> attention_evidence_per_head(const ToyCorpus& corpus,
                                                                                    const ToyArch& arch,
                                                                                    const NpzArrays& attention);
// The strongest head's value (the maximum; NaN when every value is NaN: no judged position).
float strongest_evidence(const std::vector<std::pair<std::string, std::vector<float>>>& per_head);
// {"L0/AttnWts": [h0, h1], ...} (null for NaN), the "attn_heads" of a variant's run.json and train --json.
nlohmann::json attn_heads_json(const RunRecord& r);

// run.json: {"kind": "toyformer-run", "config", "corpus", "metrics", "history": {"loss", "lr", "reductions"}}; a
// variant's metrics add "attn_heads" (attn_heads_json).
nlohmann::json run_json(const RunRecord& r);
// Read DIR/run.json and from DIR/activations.npz the activation, every attention layer of run.json's model and the
// record's further arrays that are present; a variant's attn_heads are computed from its attention layers.
RunRecord load_run_dir(const std::string& dir);

}  // namespace toy
