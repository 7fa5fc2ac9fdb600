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
  ToyCorpus corpus;
  std::vector<float> loss, lr;      // per epoch
  std::vector<int64_t> reductions;  // 0-based epochs at whose end the lr was reduced
  float final_loss = 0, final_lr = 0;
  Verdict verdict;       // outcome, share, the judged positions
  LossLevels levels;     // the corpus' loss floor and undecided level
  bool stopped_early = false;
  float attn_the_to_subject = 0;  // see verdict.h: attention_to_evidence
  int64_t params = 0;
  double us_per_step = 0;
  Tensor activation, attn;  // [N, T, V] and [N, T, T] over the whole corpus at the final weights
  // Optional further arrays of the dump: dot, lambda [N, T, T], Voutput, skipadd [N, T, V] (the report's attention
  // chain section) and the snapshots epochs [S] + AttnWts@epochs [S, N, T, T] (the epoch slider and the small
  // multiples), activation@epochs [S, N, T, V] (the slider's prediction tables) and share@epochs [S, J] (the judged
  // positions' shares over training). Sections whose arrays are missing are left out.
  NpzArrays layers;
  const Tensor* layer(const std::string& name) const;
};

// run.json: {"kind": "toyformer-run", "config", "corpus", "metrics", "history": {"loss", "lr", "reductions"}}.
nlohmann::json run_json(const RunRecord& r);
// Read DIR/run.json and the activation and attention tensors of DIR/activations.npz.
RunRecord load_run_dir(const std::string& dir);

}  // namespace toy
