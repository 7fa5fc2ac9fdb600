// The training loop and the report tables.
#include "apps/lib/training/train.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>

#include "apps/lib/training/verdict.h"
#include "core/backend.h"
#include "core/error.h"

namespace toy {

std::unique_ptr<Optimizer> make_toy_optimizer(ToyModel& m, const TrainSettings& s) {
  return make_optimizer(s.optimizer, m.model().params(), s.lr, s.momentum, s.nesterov, m.models());
}

TrainStep::TrainStep(ToyModel& m, Optimizer& opt, bool fused, bool cuda_graph, bool weights_in_lanes)
    : m_(m), opt_(opt), fused_(fused), use_graph_(cuda_graph && m.config().device == Device::CUDA) {
  if (fused && m.config().device == Device::CPU && opt.plain_sgd_lr())
    m.set_step_sgd(opt.plain_sgd_lr(), weights_in_lanes);
}

TrainStep::~TrainStep() {
  if (m_.step_sgd()) m_.set_step_sgd(nullptr, false);  // writes back any weights kept in lanes
}

void TrainStep::run_once() {
  m_.forward_backward(fused_);
  if (m_.step_sgd())
    opt_.count_step();  // the step applied it
  else
    opt_.step();
}

void TrainStep::operator()() {
  if (!use_graph_ || eager_steps_ == 0) {
    run_once();
    ++eager_steps_;
    return;
  }
  if (!graph_.captured()) {
    graph_.begin_capture();
    run_once();
    graph_.end_capture();
  }
  graph_.replay();
}

TrainResult train(ToyModel& m, const ToyCorpus& corpus, const TrainOptions& opts) {
  TOY_CHECK(m.models() == 1, "train: the model holds {} stacked models (use train_models)", m.models());
  return train_models(m, corpus, opts)[0];
}

std::vector<TrainResult> train_models(ToyModel& m, const ToyCorpus& corpus, const TrainOptions& opts) {
  TOY_CHECK(opts.epochs >= 0, "train: epochs must be >= 0, got {}", opts.epochs);
  TOY_CHECK(m.batch() == opts.batch, "train: the model is built for batch {} but the options say {}", m.batch(),
            opts.batch);
  TOY_CHECK(opts.lr_schedule.empty() || static_cast<int64_t>(opts.lr_schedule.size()) >= opts.epochs,
            "train: lr_schedule has {} entries for {} epochs", opts.lr_schedule.size(), opts.epochs);
  const int64_t n = corpus.size(), M = m.models();
  TOY_CHECK(n % opts.batch == 0, "train: batch {} must divide the corpus size {}", opts.batch, n);
  const int64_t steps_per_epoch = n / opts.batch;
  check_step_limit(opts.epochs, steps_per_epoch);

  auto opt = make_toy_optimizer(m, opts);
  std::vector<ReduceLROnPlateau> plateaus;
  if (opts.plateau && opts.lr_schedule.empty())
    for (int64_t g = 0; g < M; ++g) plateaus.emplace_back(*opt, opts.plateau_options(), g);

  std::vector<TrainResult> results(static_cast<size_t>(M));
  for (auto& r : results) {
    r.loss.reserve(static_cast<size_t>(opts.epochs));
    r.lr.reserve(static_cast<size_t>(opts.epochs));
  }
  // Per-model shuffling state (used only when an epoch has several batches).
  std::vector<Rng> shuffle_rngs;
  std::vector<std::vector<int64_t>> orders(static_cast<size_t>(M)), rows(static_cast<size_t>(M));
  for (int64_t g = 0; g < M; ++g) {
    shuffle_rngs.emplace_back(m.seeds()[static_cast<size_t>(g)] ^ 0x5DEECE66DULL);
    for (int64_t i = 0; i < n; ++i) orders[static_cast<size_t>(g)].push_back(i);
    rows[static_cast<size_t>(g)].resize(static_cast<size_t>(opts.batch));
  }
  // Early stopping: a stopped model's weights are kept on the host (`frozen`) and written back at the end, so a
  // stack ends with every model as it ends alone; a checkpoint stores them in place of the still-moving ones.
  std::vector<EarlyStopping> stoppers;
  if (opts.early_stop_options().enabled())
    stoppers.assign(static_cast<size_t>(M), EarlyStopping(opts.early_stop_options()));
  std::vector<std::vector<std::pair<std::string, Tensor>>> frozen(static_cast<size_t>(M));
  int64_t active = M;
  auto freeze = [&](int64_t g) {
    for (const auto& name : m.weight_names()) frozen[static_cast<size_t>(g)].push_back({name, m.weight_of(name, g)});
    results[static_cast<size_t>(g)].stopped_early = true;
    --active;
  };
  int64_t start_epoch = 0;
  if (const TrainCheckpoint* ck = opts.resume) {
    TOY_CHECK(ck->epoch >= 0 && ck->epoch <= opts.epochs, "resume: the checkpoint is at epoch {} of a {}-epoch run",
              ck->epoch, opts.epochs);
    TOY_CHECK(static_cast<int64_t>(ck->rng.size()) == M && static_cast<int64_t>(ck->loss.size()) == M,
              "resume: the checkpoint holds {} models, this run has {}", ck->rng.size(), M);
    TOY_CHECK(ck->plateau.size() == plateaus.size(), "resume: the checkpoint was made {} the plateau rule",
              ck->plateau.empty() ? "without" : "with");
    for (const auto& [name, t] : ck->weights) {
      Var w = m.weight(name);
      TOY_CHECK(t.shape() == w.shape(), "resume: weight '{}' has shape ({}) but the model needs ({})", name,
                t.shape().str(), w.shape().str());
      w.value().copy_from(t);
    }
    opt->load_state(ck->optimizer);
    for (size_t g = 0; g < plateaus.size(); ++g) plateaus[g].set_state(ck->plateau[g]);
    for (int64_t g = 0; g < M; ++g) {
      auto& r = results[static_cast<size_t>(g)];
      shuffle_rngs[static_cast<size_t>(g)].set_state(ck->rng[static_cast<size_t>(g)]);
      r.loss = ck->loss[static_cast<size_t>(g)];
      r.lr = ck->lr[static_cast<size_t>(g)];
      r.reductions = ck->reductions[static_cast<size_t>(g)];
      r.steps = ck->epoch * steps_per_epoch;
    }
    start_epoch = ck->epoch;
    // The early-stopping state is a function of the loss history: replay it (a model that had stopped stays so).
    for (size_t g = 0; g < stoppers.size(); ++g)
      if (stoppers[g].replay(results[g].loss)) freeze(static_cast<int64_t>(g));
  }
  auto checkpoint = [&](int64_t epochs_done) {
    m.sync_weights();  // weights kept in lanes (TrainOptions::weights_in_lanes)
    TrainCheckpoint ck;
    ck.epoch = epochs_done;
    for (const auto& name : m.weight_names()) {
      Tensor w = m.weight(name).value().to(Device::CPU);
      for (int64_t g = 0; g < M; ++g)
        for (const auto& [fname, fw] : frozen[static_cast<size_t>(g)])
          if (fname == name) std::copy(fw.data(), fw.data() + fw.numel(), w.data() + g * fw.numel());
      ck.weights.push_back({name, w});
    }
    for (const auto& [k, t] : opt->state()) ck.optimizer.push_back({k, t.to(Device::CPU)});
    for (const auto& p : plateaus) ck.plateau.push_back(p.state());
    for (const auto& rng : shuffle_rngs) ck.rng.push_back(rng.state());
    for (const auto& r : results) {
      ck.loss.push_back(r.loss);
      ck.lr.push_back(r.lr);
      ck.reductions.push_back(r.reductions);
    }
    opts.on_checkpoint(ck);
  };

  Model& model = m.model();
  const Tensor& loss_t = m.loss().value();
  Backend& bk = backend(loss_t.device());
  std::vector<float> step_loss(static_cast<size_t>(M)), lr_used(static_cast<size_t>(M));
  std::vector<double> epoch_loss(static_cast<size_t>(M));
  // PerEpoch (on a device by default): step s's M losses land in row s of `epoch_losses` by a device-side copy, and
  // the epoch's one host synchronization reads them all (allocated before the step is captured, freed after it).
  const bool per_epoch = opts.loss_read == LossRead::PerEpoch ||
                         (opts.loss_read == LossRead::Auto && loss_t.device() != Device::CPU);
  Tensor epoch_losses;
  std::vector<float> epoch_losses_host;
  if (per_epoch) {
    epoch_losses = Tensor::empty(Shape{steps_per_epoch, M}, loss_t.device());
    epoch_losses_host.resize(static_cast<size_t>(steps_per_epoch * M));
  }
  TrainStep step(m, *opt, step_is_fused(opts.step_path(), m.config().device, m.config().arch), opts.cuda_graph,
                 opts.weights_in_lanes);
  // The step's activations as the options ask, for this loop only (also when it throws).
  struct StepActivations {
    ToyModel& m;
    bool was;
    ~StepActivations() { m.set_step_activations(was); }
  } const restore{m, m.step_activations()};
  m.set_step_activations(opts.step_activations);

  const auto t0 = std::chrono::steady_clock::now();
  for (int64_t e = start_epoch; e < opts.epochs && active > 0; ++e) {
    if (!opts.lr_schedule.empty()) opt->set_lr(opts.lr_schedule[static_cast<size_t>(e)]);
    for (int64_t g = 0; g < M; ++g) lr_used[static_cast<size_t>(g)] = opt->lr(g);
    // With one batch per epoch the order inside the batch changes nothing but summation order: keep it fixed.
    if (steps_per_epoch > 1)
      for (int64_t g = 0; g < M; ++g) {
        // A fresh permutation of 0..n-1 every epoch (as Keras' tf.random.shuffle(tf.range(n))): the RNG is the
        // only state, which is what a checkpoint stores.
        auto& order = orders[static_cast<size_t>(g)];
        for (int64_t i = 0; i < n; ++i) order[static_cast<size_t>(i)] = i;
        for (int64_t i = n - 1; i > 0; --i)
          std::swap(order[static_cast<size_t>(i)],
                    order[static_cast<size_t>(shuffle_rngs[static_cast<size_t>(g)].below(static_cast<uint64_t>(i + 1)))]);
      }
    std::fill(epoch_loss.begin(), epoch_loss.end(), 0.0);
    for (int64_t s = 0; s < steps_per_epoch; ++s) {
      if (steps_per_epoch > 1) {
        for (int64_t g = 0; g < M; ++g)
          for (int64_t b = 0; b < opts.batch; ++b)
            rows[static_cast<size_t>(g)][static_cast<size_t>(b)] =
                orders[static_cast<size_t>(g)][static_cast<size_t>(s * opts.batch + b)];
        m.set_batch_models(corpus, rows);
      }
      step();
      if (per_epoch) {
        bk.copy(epoch_losses.data() + s * M, loss_t.data(), static_cast<size_t>(M));  // queued, no synchronization
      } else {
        bk.copy_to_host(step_loss.data(), loss_t.data(), static_cast<size_t>(M));
        for (int64_t g = 0; g < M; ++g) epoch_loss[static_cast<size_t>(g)] += step_loss[static_cast<size_t>(g)];
      }
    }
    if (per_epoch) {  // the epoch's one read; the same sums as PerStep: per model, in step order, in double
      bk.copy_to_host(epoch_losses_host.data(), epoch_losses.data(), epoch_losses_host.size());
      for (int64_t s = 0; s < steps_per_epoch; ++s)
        for (int64_t g = 0; g < M; ++g)
          epoch_loss[static_cast<size_t>(g)] += epoch_losses_host[static_cast<size_t>(s * M + g)];
    }
    for (int64_t g = 0; g < M; ++g) {
      auto& r = results[static_cast<size_t>(g)];
      if (r.stopped_early) continue;  // stopped at an earlier epoch: its history ends there
      // Keras' Mean metric weighted by batch size: equal batches give the plain mean.
      const double el = epoch_loss[static_cast<size_t>(g)];
      const float loss = steps_per_epoch == 1 ? static_cast<float>(el)
                                              : static_cast<float>(el / static_cast<double>(steps_per_epoch));
      // Stop at the first non-finite loss: every later number would be NaN, and nothing has been written yet.
      if (!std::isfinite(loss))
        throw NumericalError(fmt::format(
            "epoch {} of {}: the training loss is {} (seed {}, lr {:g}). The likely cause: a learning rate too large "
            "for this model, so the updates overshoot until the weights overflow; try a smaller --lr",
            e + 1, opts.epochs, std::isnan(loss) ? "NaN" : loss > 0 ? "+inf" : "-inf", m.seeds()[static_cast<size_t>(g)],
            lr_used[static_cast<size_t>(g)]));
      r.loss.push_back(loss);
      r.lr.push_back(lr_used[static_cast<size_t>(g)]);
      const bool reduced = !plateaus.empty() && plateaus[static_cast<size_t>(g)].on_epoch_end(static_cast<double>(loss));
      if (reduced) r.reductions.push_back(e);
      r.steps += steps_per_epoch;
      const bool stop = !stoppers.empty() && stoppers[static_cast<size_t>(g)].on_epoch_end(e, static_cast<double>(loss));
      if (opts.on_epoch)
        opts.on_epoch(EpochInfo{g, e, opts.epochs, loss, lr_used[static_cast<size_t>(g)], reduced, opt->lr(g), stop});
      if (stop) freeze(g);
    }
    if (opts.on_checkpoint && opts.checkpoint_every > 0 &&
        ((e + 1) % opts.checkpoint_every == 0 || e + 1 == opts.epochs || active == 0))
      checkpoint(e + 1);
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  for (int64_t g = 0; g < M; ++g) {
    auto& r = results[static_cast<size_t>(g)];
    r.seconds = seconds;
    r.us_per_step = r.steps ? seconds * 1e6 / static_cast<double>(r.steps) : 0.0;
    r.final_lr = opt->lr(g);  // a stopped model's plateau rule stopped with it: its lr after its last epoch
  }
  m.sync_weights();
  for (int64_t g = 0; g < M; ++g)
    for (const auto& [name, w] : frozen[static_cast<size_t>(g)]) m.set_weight_of(name, g, w);
  // Leave the activations at the final weights, for the first batch of the corpus.
  if (steps_per_epoch > 1) {
    for (auto& r : rows)
      for (int64_t b = 0; b < opts.batch; ++b) r[static_cast<size_t>(b)] = b;
    m.set_batch_models(corpus, rows);
  }
  model.forward();
  return results;
}

std::string position_label(const ToyCorpus& corpus, int64_t seq, int64_t t) {
  return fmt::format("{} {}", t, corpus.vocab[static_cast<size_t>(corpus.seqs[static_cast<size_t>(seq)][static_cast<size_t>(t)])]);
}

std::string labelled_table(const std::vector<std::string>& rows, const std::vector<std::string>& cols,
                           const float* values, int decimals, size_t min_width) {
  size_t w0 = 0, wc = min_width;
  for (const auto& r : rows) w0 = std::max(w0, r.size());
  for (const auto& c : cols) wc = std::max(wc, c.size() + 1);
  std::string out = fmt::format("{:<{}}", "", w0);
  for (const auto& c : cols) out += fmt::format("{:>{}}", c, wc);
  out += "\n";
  for (size_t i = 0; i < rows.size(); ++i) {
    out += fmt::format("{:<{}}", rows[i], w0);
    for (size_t j = 0; j < cols.size(); ++j) out += fmt::format("{:>{}.{}f}", values[i * cols.size() + j], wc, decimals);
    out += "\n";
  }
  return out;
}

std::string prediction_table(const ToyCorpus& corpus, const Tensor& activation, int64_t seq) {
  const int64_t T = corpus.seq_len(), V = corpus.vocab_size();
  std::vector<float> a = activation.to_vector();
  std::vector<std::string> rows;
  for (int64_t t = 0; t < T; ++t) rows.push_back(position_label(corpus, seq, t));
  return labelled_table(rows, corpus.vocab, a.data() + seq * T * V);
}

std::string attention_table(const ToyCorpus& corpus, const Tensor& attn, int64_t seq) {
  const int64_t T = corpus.seq_len();
  std::vector<float> a = attn.to_vector();
  std::vector<std::string> rows;
  for (int64_t t = 0; t < T; ++t) rows.push_back(position_label(corpus, seq, t));
  return labelled_table(rows, rows, a.data() + seq * T * T);
}

std::string attention_tables(const ToyCorpus& corpus, const NpzArrays& attention, int64_t seq) {
  std::string out;
  for (const auto& [layer, w] : attention)
    for (int64_t h = 0; h < attention_heads(w); ++h)
      out += fmt::format("\nsequence {}: attention weights ({}{}, rows attend to columns)\n{}", seq, layer,
                         attention_heads(w) > 1 ? fmt::format(" head {}", h) : std::string(),
                         attention_table(corpus, attention_head(w, h), seq));
  return out;
}

}  // namespace toy
