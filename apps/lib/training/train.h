// Training the toy model: the epoch loop (Keras' fit semantics), the verdict, and the tables users read.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "apps/lib/training/settings.h"
#include "core/npz.h"
#include "cuda/graph_capture.h"
#include "layers/toy_model.h"
#include "optim/early_stopping.h"
#include "optim/optimizer.h"
#include "optim/plateau.h"

namespace toy {

struct EpochInfo {
  int64_t model;  // which of the stacked models (0 for a single model)
  int64_t epoch;  // 0-based
  int64_t epochs;
  float loss;     // mean loss of the epoch's forward passes (before each update)
  float lr;       // the learning rate used during this epoch
  bool reduced;   // the plateau rule reduced the lr at the end of this epoch
  float new_lr;   // lr after this epoch
  bool stopped = false;  // EarlyStopping ends this model's training after this epoch
};

// Everything needed to continue a run bit for bit: weights, optimizer state (lr, step, momenta/moments), each
// model's plateau state and shuffling RNG, the epoch count and the history so far.
struct TrainCheckpoint {
  int64_t epoch = 0;  // epochs completed
  std::vector<std::pair<std::string, Tensor>> weights, optimizer;
  std::vector<PlateauState> plateau;  // per model (empty without the plateau rule)
  std::vector<std::string> rng;       // per model
  std::vector<std::vector<float>> loss, lr;
  std::vector<std::vector<int64_t>> reductions;
};

// How the step losses reach the host (the plateau rule, early stopping and the history need them once per epoch).
//   PerStep:  read each step's losses right after the step (a host synchronization per step; free on the CPU).
//   PerEpoch: copy each step's losses into a device buffer [steps per epoch, models] on the stream (no
//             synchronization) and read the whole buffer once at the epoch's end.
// Both add the same floats in the same order (per model, in step order, in double): the history is the same bits.
// Auto (the default): PerStep on the CPU, PerEpoch on a device.
enum class LossRead { Auto, PerStep, PerEpoch };

// How train_models runs: the settings that decide the numbers (apps/lib/training/settings.h) and what only steers the
// loop (callbacks, checkpoints, CUDA graphs, a forced lr schedule for tests). With batch < corpus size each model
// shuffles the sequences per epoch with its own Rng, seeded from its weight seed (so a model trains the same alone or
// in a stack). With early stopping (settings.early_stop) `epochs` becomes a ceiling; in a stack, a model that stops
// keeps the weights it stopped with (the others train on), so it ends as it would alone.
struct TrainOptions : TrainSettings {
  // On a CUDA device, capture one training step (forward, backward, update) in a CUDA graph after a first eager
  // step and replay it; false runs every kernel eagerly (same numbers, more launch overhead).
  bool cuda_graph = true;
  LossRead loss_read = LossRead::Auto;
  // false: the fused step need not write the named activations during training (ToyStepArgs::activations: a CPU
  // stack skips moving them out of its lanes); for loops that read none mid-run (sweep: no snapshots, no
  // inspection until the end). Either way train_models ends with a forward pass that leaves them at the final
  // weights, and the losses, weights and histories are the same bits.
  bool step_activations = true;
  // true: a stack's weights stay in the SIMD lanes of the CPU's fused step between steps (with plain SGD, which the
  // step then applies; ToyModel::set_step_sgd): the weight tensors are written back before a checkpoint, an early
  // stop and the end of the loop, and the gradients are not written; for loops that read neither mid-run (sweep).
  // The same bits either way.
  bool weights_in_lanes = false;
  // Tests: force the lr of every epoch (replaces the plateau rule).
  std::vector<float> lr_schedule;
  std::function<void(const EpochInfo&)> on_epoch;  // called after every epoch (progress, logging)
  // Called after every `checkpoint_every` epochs (and after the last) with the state to save; 0 = never.
  int64_t checkpoint_every = 0;
  std::function<void(const TrainCheckpoint&)> on_checkpoint;
  // Continue from a checkpoint (same model shape, optimizer and options) instead of starting at epoch 0.
  const TrainCheckpoint* resume = nullptr;
};

// Options with these settings and every loop default (no callbacks, no checkpoints).
inline TrainOptions train_options(const TrainSettings& s) {
  TrainOptions o;
  static_cast<TrainSettings&>(o) = s;
  return o;
}

struct TrainResult {
  std::vector<float> loss, lr;        // per epoch
  std::vector<int64_t> reductions;    // 0-based epochs at whose end the lr was reduced
  int64_t steps = 0;
  double seconds = 0, us_per_step = 0;  // wall time of the whole (stacked) loop; per step of the stack
  float final_lr = 0;
  bool stopped_early = false;  // EarlyStopping ended the run before opts.epochs
};

// One training step (forward, backward, optimizer update) the way train_models runs it: the fused kernel or the
// graph; on CUDA (cuda_graph) the first call runs eagerly, which fills the allocator's cache and creates the cuBLAS
// handle, the second is captured into a CUDA graph, and every later call is one graph launch. Inputs (set_batch)
// and the learning rates live in fixed device buffers, so replays see their new values. Nothing is read back.
// The fused step on the CPU with plain SGD (Optimizer::plain_sgd_lr) applies the update inside the step
// (ToyModel::set_step_sgd; the same bits), for the TrainStep's life; weights_in_lanes: a stack's weights stay in its
// SIMD lanes meanwhile (TrainOptions::weights_in_lanes), written back by ToyModel::sync_weights and at the end.
class TrainStep {
 public:
  TrainStep(ToyModel& m, Optimizer& opt, bool fused, bool cuda_graph, bool weights_in_lanes = false);
  ~TrainStep();
  TrainStep(const TrainStep&) = delete;
  TrainStep& operator=(const TrainStep&) = delete;
  void operator()();

 private:
  void run_once();
  ToyModel& m_;
  Optimizer& opt_;
  bool fused_, use_graph_;
  int64_t eager_steps_ = 0;
  cuda::CudaGraph graph_;
};

// Train a single model in place. The model's graph is built for `opts.batch` sequences.
TrainResult train(ToyModel& model, const ToyCorpus& corpus, const TrainOptions& opts);
// Train every model of a stack at once (one result per model; each has its own lr and plateau state).
std::vector<TrainResult> train_models(ToyModel& model, const ToyCorpus& corpus, const TrainOptions& opts);

// The optimizer the options ask for over the model's weights (one learning-rate group per stacked model).
std::unique_ptr<Optimizer> make_toy_optimizer(ToyModel& m, const TrainSettings& s);

// Labelled tables, 3 decimals: predictions (rows "0 <ST>", columns the words) and attention weights.
std::string prediction_table(const ToyCorpus& corpus, const Tensor& activation, int64_t seq);
std::string attention_table(const ToyCorpus& corpus, const Tensor& attn, int64_t seq);
// Sequence seq's attention tables of every head of every attention layer (AttnWts [N, T, T], a variant's
// L<block>/AttnWts [N, heads, T, T]), each under the line `train` prints:
//   "\nsequence 0: attention weights (L0/AttnWts head 1, rows attend to columns)\n<table>"  ("head h" with heads > 1)
std::string attention_tables(const ToyCorpus& corpus, const NpzArrays& attention, int64_t seq);
// A plain-text table: row labels, column labels, rows x cols values with `decimals` decimals, columns at least
// `min_width` wide.
std::string labelled_table(const std::vector<std::string>& rows, const std::vector<std::string>& cols,
                           const float* values, int decimals = 3, size_t min_width = 6);
// Row label of position t of sequence seq: "3 the".
std::string position_label(const ToyCorpus& corpus, int64_t seq, int64_t t);

}  // namespace toy
