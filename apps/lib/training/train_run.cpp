// One `toyformer train` run as library calls (see train_run.h).
#include "apps/lib/training/train_run.h"

#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "core/backend.h"
#include "core/error.h"
#include "core/npz.h"

namespace toy {

void check_head_and_epochs(int64_t H, int64_t epochs) {
  TOY_CHECK(H > 0, "--H must be positive, got {}", H);
  TOY_CHECK(epochs >= 0, "--epochs must be >= 0, got {}", epochs);
}

void check_batch(int64_t batch, const ToyCorpus& corpus) {
  TOY_CHECK(batch > 0 && corpus.size() % batch == 0, "--batch {} must divide the number of sequences ({})", batch,
            corpus.size());
}

void check_optimizer(ToyModel& m, const TrainOptions& o) {
  (void)make_toy_optimizer(m, o);
  if (o.plateau) {
    SGD probe(m.model().params());
    ReduceLROnPlateau check(probe, o.plateau_options());
  }
}

TrainSetup setup_train(const TrainSettings& s, int64_t H, uint64_t seed, const std::function<ToyCorpus()>& corpus) {
  (void)parse_device(s.device.c_str());  // a missing GPU is the first error
  check_head_and_epochs(H, s.epochs);
  TrainSetup t;
  t.corpus = corpus();
  check_batch(s.batch, t.corpus);
  check_step_limit(s.epochs, t.corpus.size() / s.batch);
  t.cfg = toy_config(s, H, seed);
  t.model = std::make_unique<ToyModel>(t.corpus, t.cfg, s.batch);
  t.options = train_options(s);
  check_optimizer(*t.model, t.options);
  return t;
}

void load_init_weights(ToyModel& m, const std::string& path) {
  NpzArrays w = load_npz(path);
  NpzArrays picked;
  for (const auto& name : m.weight_names()) {
    bool found = false;
    for (auto& [k, t] : w)
      if (k == name) picked.push_back({k, t}), found = true;
    TOY_CHECK(found, "--init-weights {}: no array '{}' (this model needs {})", path, name,
              fmt::join(m.weight_names(), ", "));
  }
  try {
    m.set_weights(picked);
  } catch (const DeviceError&) {
    throw;  // the device failed while taking the weights: not a fault of the file
  } catch (const Error& e) {
    fail("--init-weights {}: {}", path, e.what());
  }
}

void append_gradients(NpzArrays& dump, ToyModel& view) {
  Model& em = view.model();
  em.forward();
  em.backward();
  std::set<const Node*> on_path;  // the loss's ancestors: the layers the loss depends on
  std::vector<const Node*> stack{em.loss().node()};
  while (!stack.empty()) {
    const Node* n = stack.back();
    stack.pop_back();
    if (!on_path.insert(n).second) continue;
    for (const auto& in : n->inputs) stack.push_back(in.get());
  }
  for (const auto& name : view.layer_names()) {
    const Var& v = em.output(name);
    if (!v.requires_grad()) continue;  // the inputs (Xseqids, PosInput): no gradient
    dump.push_back({"grad/" + name, on_path.count(v.node()) && v.has_grad() ? v.grad().to(Device::CPU)
                                                                            : Tensor::zeros(v.shape())});
  }
  for (const auto& name : view.weight_names())
    dump.push_back({"grad/param/" + name, view.weight(name).grad().to(Device::CPU)});
}

NpzArrays toy_weights(ToyModel& m) {
  NpzArrays w;
  for (const auto& name : m.weight_names()) w.push_back({name, m.weight(name).value()});
  return w;
}

std::vector<std::string> parse_snapshot_layers(const std::string& csv, const std::vector<std::string>& known) {
  std::vector<std::string> named;
  size_t i = 0;
  while (i <= csv.size()) {
    size_t j = csv.find(',', i);
    if (j == std::string::npos) j = csv.size();
    if (j > i) named.push_back(csv.substr(i, j - i));
    i = j + 1;
  }
  TOY_CHECK(!named.empty(), "--snapshot-layers: no layer named");
  std::vector<std::string> layers;
  for (const auto& l : named) {
    if (std::find(known.begin(), known.end(), l) != known.end()) {
      layers.push_back(l);
      continue;
    }
    // A block layer's short name ("AttnWts") names it in every block of a variant (L0/AttnWts, L1/AttnWts, ...).
    const size_t before = layers.size();
    for (const auto& k : known)
      if (k.size() > l.size() && k.ends_with("/" + l)) layers.push_back(k);
    TOY_CHECK(layers.size() > before, "--snapshot-layers: unknown layer '{}' (known: {})", l, fmt::join(known, ", "));
  }
  TOY_CHECK(std::set<std::string>(layers.begin(), layers.end()).size() == layers.size(),
            "--snapshot-layers: a layer is named twice");
  return layers;
}

CorpusView::CorpusView(ToyModel& m, const ToyCorpus& corpus, const ToyConfig& cfg, int64_t batch,
                       const std::vector<uint64_t>& seeds)
    : m_(m) {
  if (batch != corpus.size()) eval_ = std::make_unique<ToyModel>(corpus, cfg, corpus.size(), seeds);
}

ToyModel& CorpusView::refresh() {
  if (!eval_) return m_;
  for (const auto& name : m_.weight_names()) eval_->weight(name).value().copy_from(m_.weight(name).value());
  eval_->model().forward();
  return *eval_;
}

LayerSnapshots::LayerSnapshots(ToyModel& m, const ToyCorpus& corpus, const ToyConfig& cfg, int64_t batch,
                               int64_t every, std::vector<std::string> layers)
    : corpus_(corpus),
      loss_(cfg.loss),
      every_(every),
      layers_(std::move(layers)),
      view_(m, corpus, cfg, batch),
      data_(layers_.size()) {}

void LayerSnapshots::record(const EpochInfo& e) {
  const int64_t k = e.epoch + 1;  // 1-based, as Keras prints "Epoch k/N"
  const bool take = first_ || k % every_ == 0 || k == e.epochs;
  first_ = false;
  if (!take) return;
  ToyModel* src = &view_.refresh();
  for (size_t i = 0; i < layers_.size(); ++i) {
    std::vector<float> v = src->model().output(layers_[i]).value().to_vector();
    data_[i].insert(data_[i].end(), v.begin(), v.end());
  }
  for (const PositionShare& p : decision_shares(corpus_, loss_, src->model().output(src->logits_layer()).value(),
                                                src->model().output("activation").value()))
    share_.push_back(static_cast<float>(p.share));
  epochs_.push_back(k);
}

void LayerSnapshots::append_to(NpzArrays& dump, const Model& view, size_t judged) const {
  if (epochs_.empty()) return;
  const int64_t S = static_cast<int64_t>(epochs_.size());
  std::vector<float> ep(epochs_.begin(), epochs_.end());
  dump.push_back({"epochs", Tensor::from(Shape{S}, ep)});
  if (judged > 0) dump.push_back({"share@epochs", Tensor::from(Shape{S, static_cast<int64_t>(judged)}, share_)});
  for (size_t i = 0; i < layers_.size(); ++i) {
    std::vector<int64_t> dims{S};
    for (int64_t d : view.output(layers_[i]).shape().dims()) dims.push_back(d);
    dump.push_back({layers_[i] + "@epochs", Tensor::from(Shape(dims), data_[i])});
  }
}

TrainedView view_trained(ToyModel& m, const ToyCorpus& corpus, const ToyConfig& cfg, int64_t batch,
                         const TrainResult& r, const TrainOptions& o, const VerdictRules& rules) {
  TrainedView v;
  CorpusView cv(m, corpus, cfg, batch);
  cv.refresh();
  v.eval = cv.release();
  v.view = v.eval ? v.eval.get() : &m;
  const Model& vm = v.view->model();
  v.final_loss = v.view->loss().value().item();
  v.verdict = judge(decision_shares(corpus, cfg.loss, vm.output(v.view->logits_layer()).value(),
                                     vm.output("activation").value()),
                    training_trace(r, o), rules);
  v.levels = loss_levels(corpus);
  return v;
}

RunRecord make_run_record(nlohmann::json config, const ToyCorpus& corpus, ToyModel& m, const TrainedView& v,
                          const TrainResult& r, const NpzArrays& dump) {
  const Model& vm = v.view->model();
  RunRecord rec;
  rec.config = std::move(config);
  rec.arch = v.view->config().arch;
  rec.corpus = corpus;
  rec.loss = r.loss;
  rec.lr = r.lr;
  rec.reductions = r.reductions;
  rec.final_loss = v.final_loss;
  rec.final_lr = r.final_lr;
  rec.verdict = v.verdict;
  rec.levels = v.levels;
  rec.stopped_early = r.stopped_early;
  rec.params = m.model().param_count();
  rec.us_per_step = r.us_per_step;
  rec.activation = vm.output("activation").value().to(Device::CPU);
  for (const std::string& name : v.view->attention_layers())
    rec.attention.push_back({name, vm.output(name).value().to(Device::CPU)});
  rec.attn_heads = attention_evidence_per_head(corpus, rec.arch, rec.attention);
  rec.attn_the_to_subject = rec.arch.notebook() ? attention_to_evidence(corpus, rec.attention.front().second)
                                                : strongest_evidence(rec.attn_heads);
  for (const std::string& name : record_chain_layers(rec.arch))
    if (vm.has_layer(name)) rec.layers.push_back({name, vm.output(name).value().to(Device::CPU)});
  const std::vector<std::string> snapshots = record_snapshot_arrays(rec.arch);
  for (auto& [k, t] : dump)
    if (std::find(snapshots.begin(), snapshots.end(), k) != snapshots.end()) rec.layers.push_back({k, t});
  return rec;
}

nlohmann::json train_result_json(const RunRecord& rec) {
  const Verdict& v = rec.verdict;
  nlohmann::json j;
  j["final_loss"] = rec.final_loss;
  j["epochs"] = rec.loss.size();
  j["final_lr"] = rec.final_lr;
  j["outcome"] = outcome_name(v.outcome);
  j["solved"] = v.solved();
  j["share"] = std::isnan(v.share) ? nlohmann::json(nullptr) : nlohmann::json(v.share);
  j["verdict"] = v.json(rec.corpus);
  j["loss_floor"] = rec.levels.floor;
  j["loss_undecided"] = rec.levels.undecided;
  j["stopped_early"] = rec.stopped_early;
  j["us_per_step"] = rec.us_per_step;
  j["params"] = rec.params;
  j["H"] = rec.config.at("H");
  j["seed"] = rec.config.at("seed");
  j["loss_kind"] = rec.config.at("loss");
  j["optimizer"] = rec.config.at("optimizer");
  j["device"] = rec.config.at("device");
  j["lr_reductions"] = rec.reductions;
  if (!rec.attn_heads.empty()) {  // a variant's: every head's attention to the evidence, and the strongest
    j["attn_heads"] = attn_heads_json(rec);
    j["attn_the_to_subject"] =
        std::isnan(rec.attn_the_to_subject) ? nlohmann::json(nullptr) : nlohmann::json(rec.attn_the_to_subject);
  }
  return j;
}

}  // namespace toy
