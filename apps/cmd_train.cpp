// `toyformer train`: the notebook's run (H=20, SGD 0.01, ReduceLROnPlateau 0.2/10/1e-4, 5020 epochs, batch 2),
// then per sequence the prediction and attention tables and the verdict. Checkpoints (--checkpoint-every,
// --resume), attention snapshots over training (--snapshot-every) and activation gradients (--dump-grads).
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <unistd.h>

#include <filesystem>
#include <optional>
#include <set>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "apps/commands.h"
#include "apps/training_flags.h"
#include "apps/lib/checkpoint.h"
#include "apps/lib/checkpoint_dir.h"
#include "apps/lib/fs_util.h"
#include "apps/lib/report.h"
#include "apps/lib/sweep.h"
#include "apps/lib/train.h"
#include "apps/lib/train_run.h"
#include "apps/lib/verdict.h"
#include "core/backend.h"
#include "core/error.h"
#include "core/npz.h"

namespace toy::app {
namespace {

struct TrainCli : TrainingFlags {
  int64_t H = 20;
  uint64_t seed = 1;
  bool quiet = false, json = false;
  std::string init_weights, save_weights, dump_activations;
  std::string out_dir, report;
  int64_t checkpoint_every = 0, snapshot_every = 0;
  std::string checkpoint_dir, resume, snapshot_layers = "AttnWts,activation";
  bool dump_grads = false, force = false;
};

namespace fs = std::filesystem;

// The settings that decide a run's numbers (everything but --epochs, which a resume may extend, and the output
// flags). DIR/run.json of a checkpoint directory stores them; --resume refuses a run whose settings differ.
nlohmann::json run_settings(const TrainCli& c, const ToyCorpus& corpus) {
  std::vector<std::string> sentences;
  for (const auto& seq : corpus.seqs) {
    std::string s;
    for (int64_t id : seq) s += (s.empty() ? "" : " ") + corpus.vocab[static_cast<size_t>(id)];
    sentences.push_back(s);
  }
  nlohmann::json j = c.settings();
  j.erase("epochs");  // a resume may extend them
  j["H"] = c.H;
  j["seed"] = c.seed;
  j["corpus"] = sentences;
  return j;
}

// Everything that is not the JSON object goes to stderr under --json.
struct Out {
  FILE* f;
  template <class... A>
  void operator()(fmt::format_string<A...> s, A&&... a) const {
    std::fputs(fmt::format(s, std::forward<A>(a)...).c_str(), f);
  }
};

int run_train(const TrainCli& c) {
  (void)parse_device(c.device.c_str());  // a missing GPU is the first error
  check_head_and_epochs(c.H, c.epochs);
  ToyCorpus corpus = c.corpus.empty() ? notebook_corpus() : load_corpus(c.corpus);
  check_batch(c.batch, corpus);
  check_step_limit(c.epochs, corpus.size() / c.batch);

  const ToyConfig cfg = toy_config(c, c.H, c.seed);
  ToyModel m(corpus, cfg, c.batch);
  if (!c.init_weights.empty()) {
    NpzArrays w = load_npz(c.init_weights);
    NpzArrays picked;
    for (const auto& name : toy_weight_names()) {
      bool found = false;
      for (auto& [k, t] : w)
        if (k == name) picked.push_back({k, t}), found = true;
      TOY_CHECK(found, "--init-weights {}: no array '{}' (needs XEmbed, PosEmbed, Qmat, Kmat, Vmat)", c.init_weights,
                name);
    }
    try {
      m.set_weights(picked);
    } catch (const Error& e) {
      fail("--init-weights {}: {}", c.init_weights, e.what());
    }
  }

  // Every output is checked before any work (a bad last path must not cost a whole run).
  for (const auto& [path, flag] : {std::pair{c.save_weights, "--save-weights"},
                                   std::pair{c.dump_activations, "--dump-activations"},
                                   std::pair{c.report, "--report"}})
    if (!path.empty()) check_output_file(path, flag);
  if (!c.out_dir.empty()) prepare_output_dir(c.out_dir, "--out", c.force);

  TrainOptions o = train_options(c);
  // Validate the optimizer and plateau settings before printing anything.
  check_optimizer(m, o);

  // Checkpoints: DIR/checkpoint.npz (save_checkpoint, atomic) and DIR/run.json (the settings, checked on resume).
  const nlohmann::json settings = run_settings(c, corpus);
  std::string ck_dir = c.checkpoint_dir;
  int64_t ck_every = c.checkpoint_every;
  TrainCheckpoint resumed;
  auto same_dir = [](const std::string& a, const std::string& b) {
    auto norm = [](const std::string& p) {
      std::string s = fs::absolute(p).lexically_normal().string();
      while (s.size() > 1 && s.back() == '/') s.pop_back();
      return s;
    };
    return norm(a) == norm(b);
  };
  if (!c.resume.empty()) ck_dir = c.resume;
  TOY_CHECK(ck_dir.empty() || c.out_dir.empty() || !same_dir(ck_dir, c.out_dir),
            "--out {} and the checkpoint directory must differ (both write run.json)", c.out_dir);
  std::optional<CheckpointDir> ck;
  if (!c.resume.empty()) {
    TOY_CHECK(c.checkpoint_dir.empty() || fs::path(c.checkpoint_dir) == fs::path(c.resume),
              "--resume {} keeps checkpointing into {}: drop --checkpoint-dir {}", c.resume, c.resume, c.checkpoint_dir);
    TOY_CHECK(c.init_weights.empty(), "--resume takes the weights from the checkpoint: drop --init-weights");
    ck = CheckpointDir::resume(c.resume, ck_every, settings, resumed);
  } else if (!ck_dir.empty() || ck_every > 0) {
    ck = CheckpointDir::create(ck_dir, ck_every, settings, c.init_weights);
  }
  if (ck) ck->attach(o);
  if (!c.resume.empty()) o.resume = &resumed;

  // Snapshots: the selected layers at epoch 1 (of this process), every snapshot_every-th epoch and the last.
  std::vector<std::string> snap_layers;
  if (c.snapshot_every > 0) snap_layers = parse_snapshot_layers(c.snapshot_layers);
  TOY_CHECK(c.snapshot_every == 0 || !c.dump_activations.empty() || !c.out_dir.empty() || !c.report.empty(),
            "--snapshot-every needs somewhere to write them: --dump-activations, --out or --report");
  TOY_CHECK(!c.dump_grads || !c.dump_activations.empty() || !c.out_dir.empty(),
            "--dump-grads adds to the activation dump: give --dump-activations or --out");
  std::unique_ptr<LayerSnapshots> snapshots;
  if (c.snapshot_every > 0)
    snapshots = std::make_unique<LayerSnapshots>(m, corpus, cfg, c.batch, c.snapshot_every, snap_layers);

  const Out out{c.json ? stderr : stdout};
  const bool tty = !c.json && isatty(fileno(stdout));
  if (!c.quiet) out("{}", m.model().summary());
  if (!c.resume.empty()) {
    out("resumed from epoch {} of {} (checkpoint {}), continuing to epoch {}\n", resumed.epoch, c.resume,
        (fs::path(c.resume) / "checkpoint.npz").string(), c.epochs);
    std::fflush(out.f);
  }

  auto last = std::chrono::steady_clock::now();
  const auto start = last;
  int64_t last_epoch = 0;
  o.on_epoch = [&](const EpochInfo& e) {
    if (snapshots && e.model == 0) snapshots->record(e);
    if (e.stopped && !c.quiet)
      out("{}Epoch {}: early stopping (the loss has not improved by more than {:g} for {} epochs).\n",
          tty ? "\r\033[K" : "", e.epoch + 1, c.early_stop_min_delta, c.early_stop);
    if (e.reduced && !c.quiet)
      out("{}Epoch {}: ReduceLROnPlateau reducing learning rate to {}.\n", tty ? "\r\033[K" : "", e.epoch + 1,
          std::max(static_cast<double>(e.lr) * o.plateau_factor, o.min_lr));
    if (c.quiet || ((e.epoch & 255) != 255 && e.epoch + 1 != e.epochs && !e.stopped)) return;
    auto now = std::chrono::steady_clock::now();
    double dt = std::chrono::duration<double>(now - last).count();
    const bool last_epoch_now = e.epoch + 1 == e.epochs || e.stopped;
    if (!last_epoch_now && dt < (tty ? 0.1 : 2.0)) return;
    double rate = static_cast<double>(e.epoch + 1 - last_epoch) / std::max(dt, 1e-9);
    if (tty)
      out("\r\033[Kepoch {}/{}  loss {:.4f}  lr {:.4g}  steps/s {:.0f}{}", e.epoch + 1, e.epochs, e.loss, e.new_lr,
          rate, last_epoch_now ? "\n" : "");
    else
      out("epoch {}/{} loss {:.4f} lr {:.4g} steps/s {:.0f}\n", e.epoch + 1, e.epochs, e.loss, e.new_lr, rate);
    std::fflush(out.f);
    last = now;
    last_epoch = e.epoch + 1;
  };
  TrainResult r = train(m, corpus, o);
  (void)start;

  // Predictions and attention over the whole corpus (the training model itself when it holds every sequence).
  const TrainedView tv = view_trained(m, corpus, cfg, c.batch, r, o, verdict_rules(c));
  ToyModel* view = tv.view;
  const Tensor& act = view->model().output("activation").value();
  const Tensor& attn = view->model().output("AttnWts").value();
  const float final_loss = tv.final_loss;
  const Verdict& v = tv.verdict;
  const LossLevels& levels = tv.levels;

  if (!c.quiet) {
    for (int64_t s = 0; s < corpus.size(); ++s) {
      out("\nsequence {}: predictions (activation)\n{}", s, prediction_table(corpus, act, s));
      out("\nsequence {}: attention weights (AttnWts, rows attend to columns)\n{}", s, attention_table(corpus, attn, s));
    }
    out("\n");
  }
  out("final loss {:.4f} after {} epochs{}, lr {:.4g}, {:.2f} us/step\n", final_loss, r.loss.size(),
      r.stopped_early ? " (early stop)" : "", r.final_lr, r.us_per_step);
  out("loss levels: {}\n", loss_levels_text(corpus, levels));
  out("{}", v.line(corpus));

  if (!c.save_weights.empty()) save_npz(c.save_weights, toy_weights(m));
  NpzArrays dump = activation_arrays(view->model(), r.loss, r.lr, corpus.vocab);
  if (snapshots) snapshots->append_to(dump, view->model(), v.positions.size());
  if (c.dump_grads) {
    // One forward + backward of the evaluation model (the whole corpus at the final weights, after the last update).
    Model& em = view->model();
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
    for (const auto& name : toy_layer_names()) {
      const Var& v = em.output(name);
      if (!v.requires_grad()) continue;  // the inputs (Xseqids, PosInput): no gradient
      dump.push_back({"grad/" + name, on_path.count(v.node()) && v.has_grad() ? v.grad().to(Device::CPU)
                                                                              : Tensor::zeros(v.shape())});
    }
    for (const auto& name : toy_weight_names()) dump.push_back({"grad/param/" + name, view->weight(name).grad().to(Device::CPU)});
  }
  if (!c.dump_activations.empty()) save_npz(c.dump_activations, dump);
  const RunRecord rec = make_run_record(
      run_config(c, c.H, c.seed, c.corpus.empty() ? std::string("notebook") : c.corpus, c.init_weights), corpus, m,
      tv, r, dump);
  if (!c.out_dir.empty()) write_run_dir(c.out_dir, rec, toy_weights(m), dump);
  if (!c.report.empty()) write_file_atomic(c.report, run_report_html(rec));
  if (c.json) std::printf("%s\n", train_result_json(rec).dump().c_str());
  return 0;
}

}  // namespace

Runner add_train(CLI::App& app) {
  auto c = std::make_shared<TrainCli>();
  CLI::App* s = app.add_subcommand("train", "train the notebook's toy attention model (defaults = the notebook)");
  add_model_flags(s, c->H, c->seed);
  add_training_flags(s, *c);
  s->add_flag("--quiet", c->quiet, "no summary, progress or tables: the final line and the verdict only");
  s->add_flag("--json", c->json, "print one JSON object on stdout (everything else goes to stderr)");
  s->add_option("--init-weights", c->init_weights, "start from these weights (.npz: XEmbed, PosEmbed, Qmat, Kmat, Vmat)")
      ->check(non_empty_path());
  s->add_option("--save-weights", c->save_weights, "write the trained weights (.npz)")
      ->check(non_empty_path());
  s->add_option("--dump-activations", c->dump_activations,
                 "write all 14 layer outputs + loss/lr history + vocab (.npz)")
      ->check(non_empty_path());
  s->add_option("--out", c->out_dir, "write DIR/run.json, weights.npz, activations.npz and report.html")
      ->check(non_empty_path());
  s->add_option("--report", c->report, "write a self-contained HTML report of the run")
      ->check(non_empty_path());
  s->add_flag("--force", c->force, "let --out write into a directory that already holds files (overwriting them)");
  s->add_option("--checkpoint-every", c->checkpoint_every,
                 "save DIR/checkpoint.npz every N epochs and at the end (needs --checkpoint-dir)")
      ->check(int_in(0, kMaxSteps));
  s->add_option("--checkpoint-dir", c->checkpoint_dir,
                 "checkpoint directory: checkpoint.npz (weights, optimizer, plateau, RNG, epoch, history) and run.json")
      ->check(non_empty_path());
  s->add_option("--resume", c->resume,
                 "continue the run checkpointed in DIR to --epochs (same settings; keeps checkpointing into DIR)")
      ->check(non_empty_path());
  add_snapshot_flags(s, c->snapshot_every, c->snapshot_layers);
  s->add_flag("--dump-grads", c->dump_grads,
              "add grad/<layer> (d loss / d layer output) and grad/param/<name> at the final weights to the dump");
  return [c] { return run_train(*c); };
}

}  // namespace toy::app
