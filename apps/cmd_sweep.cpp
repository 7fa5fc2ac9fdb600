// `toyformer sweep`: train every (H, seed) of a grid -- or every combination of --grid's axes (H, heads, layers, ...)
// and seeds -- in parallel and summarize (runs.csv, summary.csv, timing.csv, report.html); `--shard i/n` runs one slice
// of the grid, `toyformer sweep merge DIR... --out OUT` combines slices.
#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "apps/commands.h"
#include "apps/flag_checks.h"
#include "apps/lib/formats/fs_util.h"
#include "apps/lib/sweep/sweep.h"
#include "apps/lib/visual/report.h"
#include "apps/training_flags.h"
#include "core/error.h"

namespace toy::app {
namespace {

struct SweepCli : TrainingFlags {
  std::string hs = "10,20,40", shard = "1/1", out;
  std::vector<std::string> grid;  // --grid AXIS=V1,V2 ...
  int64_t seeds = 100;
  uint64_t seed_start = 1;
  int jobs = 0;
  bool quiet = false, force = false;
  // merge
  std::vector<std::string> merge_dirs;
  std::string merge_out;
};

// The files' columns in --help (apps/lib/sweep/sweep.h: runs_csv, summary_csv).
constexpr const char* kSweepFiles =
    "Files in --out: runs.csv (a row per run), summary.csv (a row per grid point), timing.csv, sweep.json, "
    "report.html, final_loss.svg, outcome_rate.svg. attn_the_to_subject: the attention weight from each judged "
    "position ('the') to its evidence position ('man'/'woman'), mean over the judged positions; for a model with "
    "several blocks or heads the strongest evidence head, the maximum of attn_heads. With --grid's model axes (or a "
    "variant: --heads 2, ...) runs.csv has the axes as columns after H and attn_heads, the same measure for every "
    "head of every block (space-separated: L0h0 L0h1 ... L1h0 ...), and summary.csv the axes and a path column: "
    "fused stacks (the notebook's model, its seeds as stacks on one fused step), graph stacks (the same on --step "
    "graph, and every variant: its seeds as stacks on the op-by-op graph). A sweep "
    "over H alone writes the files of every sweep before --grid.";

std::string duration(double s) {
  if (s < 60) return fmt::format("{:.1f} s", s);
  return fmt::format("{}m{:02d}s", static_cast<int>(s) / 60, static_cast<int>(s) % 60);
}

int run_sweep(const SweepCli& c, const CLI::App& app) {
  SweepConfig cfg = sweep_config(c);
  set_sweep_grid(cfg, app, c.hs, c.grid);  // first: `--grid --out DIR` hands --out to --grid, and this says so
  TOY_CHECK(!c.out.empty(), "sweep: --out DIR is required (or: toyformer sweep merge DIR... --out OUT)");
  cfg.seeds = c.seeds;
  cfg.seed_start = c.seed_start;
  const Shard shard = parse_shard(c.shard);
  TOY_CHECK(c.jobs >= 0, "--jobs must be >= 0 (0: one per core), got {}", c.jobs);
  SweepData d;
  d.corpus = c.corpus.empty() ? notebook_corpus() : load_corpus(c.corpus);
  validate(cfg, d.corpus);
  prepare_output_dir(c.out, "--out", c.force);  // before any training: a bad or occupied --out fails at once
  d.config = cfg;
  d.shard = shard;
  const std::vector<RunSpec> grid = sweep_grid(cfg);
  d.grid_size = static_cast<int64_t>(grid.size());
  const std::vector<RunSpec> runs = shard_of(grid, shard);
  const int jobs = c.jobs > 0 ? c.jobs : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));

  // Progress on stderr (stdout keeps the summary table): a bar on a terminal, a few plain lines otherwise.
  const bool tty = !c.quiet && isatty(fileno(stderr));
  const auto t0 = std::chrono::steady_clock::now();
  auto last = t0;
  int64_t last_line = 0;
  // The ETA weighs each run by its estimated cost: the notebook's stacks finish long before a grid's variants.
  double cost_total = 0, cost_done = 0;
  for (const RunSpec& r : runs) cost_total += model_step_cost(r.H, r.arch);
  auto on_done = [&](const RunResult& r, int64_t done, int64_t total) {
    if (c.quiet) return;
    cost_done += model_step_cost(r.H, r.arch);
    const auto now = std::chrono::steady_clock::now();
    const double el = std::chrono::duration<double>(now - t0).count();
    const double eta = done == total ? 0.0 : el / cost_done * std::max(0.0, cost_total - cost_done);
    if (tty) {
      if (done != total && std::chrono::duration<double>(now - last).count() < 0.1) return;
      const int width = 30, fill = static_cast<int>(width * done / total);
      std::fprintf(stderr, "\r\033[K[%s%s] %lld/%lld runs  %s elapsed  ETA %s%s", std::string(fill, '#').c_str(),
                   std::string(width - fill, '.').c_str(), static_cast<long long>(done), static_cast<long long>(total),
                   duration(el).c_str(), duration(eta).c_str(), done == total ? "\n" : "");
    } else {
      const int64_t step = std::max<int64_t>(1, total / 10);
      if (done != total && done - last_line < step && std::chrono::duration<double>(now - last).count() < 10) return;
      std::fprintf(stderr, "sweep: %lld/%lld runs done, %s elapsed, ETA %s\n", static_cast<long long>(done),
                   static_cast<long long>(total), duration(el).c_str(), duration(eta).c_str());
      last_line = done;
    }
    std::fflush(stderr);
    last = now;
  };
  if (!c.quiet)
    std::fprintf(stderr, "sweep: %zu runs%s on %d thread%s\n", runs.size(),
                 shard.count > 1 ? fmt::format(" (shard {} of a {}-run grid)", shard.str(), grid.size()).c_str() : "",
                 c.device == "cuda" ? 1 : jobs, (c.device == "cuda" ? 1 : jobs) == 1 ? "" : "s");
  d.runs = train_runs(d.corpus, cfg, runs, jobs, on_done);
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  write_sweep_dir(c.out, d);
  fmt::print("{}", summary_table(d));
  fmt::print("{} runs in {:.2f} s wall ({} job{}); wrote {}/: runs.csv summary.csv report.html final_loss.svg "
             "outcome_rate.svg sweep.json, and timing.csv (the seconds per run)\n",
             d.runs.size(), wall, c.device == "cuda" ? 1 : jobs, (c.device == "cuda" ? 1 : jobs) == 1 ? "" : "s", c.out);
  return 0;
}

int run_merge(const SweepCli& c) {
  TOY_CHECK(!c.merge_out.empty(), "sweep merge: --out OUT is required");
  std::vector<std::string> warnings;
  SweepData d = merge_sweeps(c.merge_dirs, &warnings);
  prepare_output_dir(c.merge_out, "sweep merge --out", c.force);
  for (const auto& w : warnings) std::fprintf(stderr, "toyformer: warning: %s\n", w.c_str());
  write_sweep_dir(c.merge_out, d);
  fmt::print("{}", summary_table(d));
  fmt::print("merged {} director{} into {}\n", c.merge_dirs.size(), c.merge_dirs.size() == 1 ? "y" : "ies",
             c.merge_out);
  return 0;
}

}  // namespace

Runner add_sweep(CLI::App& app) {
  auto c = std::make_shared<SweepCli>();
  CLI::App* s = app.add_subcommand("sweep", "train every (H, seed) of a grid, or every point of --grid's axes and "
                                            "seeds, in parallel; write runs.csv, summary.csv, report.html (see also: "
                                            "sweep merge)");
  add_grid_flags(s, c->hs, c->seeds, c->seed_start, c->jobs, c->shard, c->grid);
  s->add_option("--out", c->out, "output directory (new or empty; --force overwrites)")->check(non_empty_path());
  add_training_flags(s, *c, "cpu | cuda (on cuda each grid point of the notebook's model trains as one stack, one "
                            "at a time)");
  s->footer(std::string(kOutcomeRules) + "\n\n" + kSweepFiles);
  s->add_flag("--quiet", c->quiet, "no progress output");
  s->add_flag("--force", c->force, "let --out write into a directory that already holds files (overwriting them)");
  s->require_subcommand(0, 1);
  CLI::App* m = s->add_subcommand("merge", "combine shard directories of one sweep (same configuration, disjoint "
                                           "runs) and rewrite the summary and report");
  m->add_option("DIRS", c->merge_dirs, "shard output directories")->required();
  m->add_option("--out", c->merge_out, "output directory")->required();
  m->add_flag("--force", c->force, "let --out write into a directory that already holds files (overwriting them)");
  return [c, m, s] { return m->parsed() ? run_merge(*c) : run_sweep(*c, *s); };
}

}  // namespace toy::app
