// One `toyformer train` run as library calls, shared by the command (apps/cmd_train.cpp adds the flags, the printing,
// checkpoints and gradients) and the Python module (python/): the checks, layer snapshots during training, the
// whole-corpus view after training with its verdict, the activation dump and the run record, and train --json.
#pragma once
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "apps/lib/training/run_record.h"
#include "apps/lib/training/train.h"
#include "apps/lib/training/verdict.h"

namespace toy {

// `train`'s checks, with its messages (they name the flags): --H > 0 and --epochs >= 0 (before the corpus is read),
// --batch divides the number of sequences (after), and the optimizer and plateau settings on the built model.
void check_head_and_epochs(int64_t H, int64_t epochs);
void check_batch(int64_t batch, const ToyCorpus& corpus);
void check_optimizer(ToyModel& m, const TrainOptions& o);
// How a run trained, for the verdict's stuck / unfinished rule.
inline TrainingTrace training_trace(const TrainResult& r, const TrainSettings& s) {
  return TrainingTrace{r.loss, r.final_lr, s.plateau, s.min_lr};
}

// A `train` run set up and checked in train's order, the first error wins: the device (a missing GPU), --H and
// --epochs (before the corpus is read), --batch against the corpus, the step limit, then the model and the
// optimizer and plateau settings on it.
struct TrainSetup {
  ToyCorpus corpus;
  ToyConfig cfg;
  std::unique_ptr<ToyModel> model;
  TrainOptions options;  // the settings' loop options, no callbacks yet
};
TrainSetup setup_train(const TrainSettings& s, int64_t H, uint64_t seed, const std::function<ToyCorpus()>& corpus);

// Start from the weights of an .npz (--init-weights): the five arrays by name, shapes checked; errors name the flag.
void load_init_weights(ToyModel& m, const std::string& path);

// One forward + backward of `view` (the whole corpus at the final weights), appending to an activation dump
// grad/<layer> (d loss / d layer output; zeros for a layer the loss does not depend on; none for the inputs) and
// grad/param/<weight>: train --dump-grads.
void append_gradients(NpzArrays& dump, ToyModel& view);

// The weight arrays of a (single) model, Keras layout, in its weight_names() order.
NpzArrays toy_weights(ToyModel& m);

// "AttnWts,activation" -> the layers to snapshot, each one of `known` (the model's layer_names()); a block layer's
// short name names it in every block of a variant ("AttnWts" -> L0/AttnWts, L1/AttnWts). Errors name
// --snapshot-layers (unknown or repeated layer).
std::vector<std::string> parse_snapshot_layers(const std::string& csv, const std::vector<std::string>& known);

// A model seen over the whole corpus: the model itself when its batch holds every sequence, else an evaluation model
// over the whole corpus (one per stacked model: `seeds` as the model was built) whose refresh() copies the weights and
// runs the forward pass. The one place an evaluation model is built (train's results, snapshots, the sweep).
class CorpusView {
 public:
  CorpusView(ToyModel& m, const ToyCorpus& corpus, const ToyConfig& cfg, int64_t batch,
             const std::vector<uint64_t>& seeds = {});
  ToyModel& refresh();  // the view, at the model's current weights
  ToyModel& view() { return eval_ ? *eval_ : m_; }
  // Hand over the evaluation model (null when the view is the model itself).
  std::unique_ptr<ToyModel> release() { return std::move(eval_); }

 private:
  ToyModel& m_;
  std::unique_ptr<ToyModel> eval_;
};

// Layers recorded during training (train --snapshot-every N): at the first epoch of this process, every N-th epoch
// (1-based) and the last, with the judged positions' decision shares. With batch < corpus size the training forward
// pass holds one batch, so the whole corpus goes through an evaluation model at the weights after the epoch.
class LayerSnapshots {
 public:
  LayerSnapshots(ToyModel& m, const ToyCorpus& corpus, const ToyConfig& cfg, int64_t batch, int64_t every,
                 std::vector<std::string> layers);
  void record(const EpochInfo& e);  // from TrainOptions::on_epoch (model 0)
  // epochs [S] (1-based), share@epochs [S, J] (when the corpus has judged positions) and <layer>@epochs
  // [S, N, ...] appended to an activation dump; nothing when no snapshot was taken.
  void append_to(NpzArrays& dump, const Model& view, size_t judged) const;

 private:
  const ToyCorpus& corpus_;
  LossKind loss_;
  int64_t every_;
  std::vector<std::string> layers_;
  CorpusView view_;
  bool first_ = true;
  std::vector<int64_t> epochs_;
  std::vector<std::vector<float>> data_;
  std::vector<float> share_;  // [S, J]
};

// A trained model seen over the whole corpus (the training model itself when it holds every sequence, else an
// evaluation model at its final weights), with the final loss, the verdict and the corpus' loss levels.
struct TrainedView {
  std::unique_ptr<ToyModel> eval;
  ToyModel* view = nullptr;
  float final_loss = 0;
  Verdict verdict;
  LossLevels levels;
};
TrainedView view_trained(ToyModel& m, const ToyCorpus& corpus, const ToyConfig& cfg, int64_t batch,
                         const TrainResult& r, const TrainOptions& o, const VerdictRules& rules);

// The record `train --out` / `--report` writes (config: the settings that decide the numbers, as run.json has them).
RunRecord make_run_record(nlohmann::json config, const ToyCorpus& corpus, ToyModel& m, const TrainedView& v,
                          const TrainResult& r, const NpzArrays& dump);
// The object `train --json` prints (a variant's adds attn_heads and attn_the_to_subject, see run_record.h).
nlohmann::json train_result_json(const RunRecord& rec);

}  // namespace toy
