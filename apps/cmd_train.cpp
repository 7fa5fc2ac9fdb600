// `toyformer train`: the notebook's run (H=20, SGD 0.01, ReduceLROnPlateau 0.2/10/1e-4, 5020 epochs, batch 2),
// then per sequence the prediction and attention tables and the verdict. Checkpoints (--checkpoint-every,
// --resume), attention snapshots over training (--snapshot-every) and activation gradients (--dump-grads).
#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <optional>

#include "apps/commands.h"
#include "apps/lib/formats/fs_util.h"
#include "apps/lib/training/checkpoint.h"
#include "apps/lib/training/checkpoint_dir.h"
#include "apps/lib/training/progress.h"
#include "apps/lib/training/train.h"
#include "apps/lib/training/train_run.h"
#include "apps/lib/training/verdict.h"
#include "apps/lib/visual/report.h"
#include "apps/training_flags.h"
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

int run_train(const TrainCli& c) {
  TrainSetup t = setup_train(c, c.H, c.seed, [&] { return c.corpus.empty() ? notebook_corpus() : load_corpus(c.corpus); });
  const ToyCorpus& corpus = t.corpus;
  ToyModel& m = *t.model;
  TrainOptions& o = t.options;
  if (!c.init_weights.empty()) load_init_weights(m, c.init_weights);

  // Every output and flag combination is checked before any work (a bad last path must not cost a whole run).
  for (const auto& [path, flag] : {std::pair{c.save_weights, "--save-weights"},
                                   std::pair{c.dump_activations, "--dump-activations"},
                                   std::pair{c.report, "--report"}})
    if (!path.empty()) check_output_file(path, flag);
  if (!c.out_dir.empty()) prepare_output_dir(c.out_dir, "--out", c.force);
  TrainCheckpoint resumed;
  const std::optional<CheckpointDir> ck =
      open_checkpoint_dir({c.resume, c.checkpoint_dir, c.checkpoint_every, c.out_dir, c.init_weights},
                          checkpoint_settings(c, c.H, c.seed, corpus), resumed);
  if (ck) ck->attach(o);
  if (!c.resume.empty()) o.resume = &resumed;
  TOY_CHECK(c.snapshot_every == 0 || !c.dump_activations.empty() || !c.out_dir.empty() || !c.report.empty(),
            "--snapshot-every needs somewhere to write them: --dump-activations, --out or --report");
  TOY_CHECK(!c.dump_grads || !c.dump_activations.empty() || !c.out_dir.empty(),
            "--dump-grads adds to the activation dump: give --dump-activations or --out");
  std::unique_ptr<LayerSnapshots> snapshots;
  if (c.snapshot_every > 0)
    snapshots = std::make_unique<LayerSnapshots>(m, corpus, t.cfg, c.batch, c.snapshot_every,
                                                 parse_snapshot_layers(c.snapshot_layers, m.layer_names()));

  // Everything that is not the JSON object goes to stderr under --json.
  std::FILE* out = c.json ? stderr : stdout;
  if (!c.quiet) fmt::print(out, "{}", m.model().summary());
  if (!c.resume.empty()) {
    fmt::print(out, "resumed from epoch {} of {} (checkpoint {}), continuing to epoch {}\n", resumed.epoch, c.resume,
               ck->checkpoint_path(), c.epochs);
    std::fflush(out);
  }
  TrainProgress progress(out, !c.json && isatty(fileno(stdout)), c.quiet, o);
  o.on_epoch = [&](const EpochInfo& e) {
    if (snapshots && e.model == 0) snapshots->record(e);
    progress(e);
  };
  const TrainResult r = train(m, corpus, o);

  // Predictions and attention over the whole corpus (the training model itself when it holds every sequence).
  const TrainedView tv = view_trained(m, corpus, t.cfg, c.batch, r, o, verdict_rules(c));
  Model& view = tv.view->model();
  if (!c.quiet) {
    NpzArrays attention;  // every block's and head's
    for (const std::string& layer : tv.view->attention_layers()) attention.push_back({layer, view.output(layer).value()});
    for (int64_t s = 0; s < corpus.size(); ++s) {
      fmt::print(out, "\nsequence {}: predictions (activation)\n{}", s,
                 prediction_table(corpus, view.output("activation").value(), s));
      fmt::print(out, "{}", attention_tables(corpus, attention, s));
    }
    fmt::print(out, "\n");
  }
  fmt::print(out, "final loss {:.4f} after {} epochs{}, lr {:.4g}, {:.2f} us/step\n", tv.final_loss, r.loss.size(),
             r.stopped_early ? " (early stop)" : "", r.final_lr, r.us_per_step);
  fmt::print(out, "loss levels: {}\n", loss_levels_text(corpus, tv.levels));
  fmt::print(out, "{}", tv.verdict.line(corpus));

  if (!c.save_weights.empty()) save_npz(c.save_weights, toy_weights(m));
  NpzArrays dump = activation_arrays(view, r.loss, r.lr, corpus.vocab);
  if (snapshots) snapshots->append_to(dump, view, tv.verdict.positions.size());
  if (c.dump_grads) append_gradients(dump, *tv.view);
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
  s->add_option("--init-weights", c->init_weights, "start from these weights (.npz: the model's weights by name; the notebook's XEmbed, PosEmbed, Qmat, Kmat, Vmat)")
      ->check(non_empty_path());
  s->add_option("--save-weights", c->save_weights, "write the trained weights (.npz)")
      ->check(non_empty_path());
  s->add_option("--dump-activations", c->dump_activations,
                 "write every layer output (the notebook's 14, a variant's own) + loss/lr history + vocab (.npz)")
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
