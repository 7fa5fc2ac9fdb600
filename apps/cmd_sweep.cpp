// `toyformer sweep`: train every (H, seed) of a grid in parallel and summarize (runs.csv, summary.csv, timing.csv,
// report.html); `--shard i/n` runs one slice of the grid, `toyformer sweep merge DIR... --out OUT` combines slices.
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
  int64_t seeds = 100;
  uint64_t seed_start = 1;
  int jobs = 0;
  bool quiet = false, force = false;
  // merge
  std::vector<std::string> merge_dirs;
  std::string merge_out;
};

std::string duration(double s) {
  if (s < 60) return fmt::format("{:.1f} s", s);
  return fmt::format("{}m{:02d}s", static_cast<int>(s) / 60, static_cast<int>(s) % 60);
}

int run_sweep(const SweepCli& c) {
  TOY_CHECK(!c.out.empty(), "sweep: --out DIR is required (or: toyformer sweep merge DIR... --out OUT)");
  SweepConfig cfg = sweep_config(c);
  cfg.Hs = parse_int_list(c.hs, "--H");
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
  auto on_done = [&](const RunResult&, int64_t done, int64_t total) {
    if (c.quiet) return;
    const auto now = std::chrono::steady_clock::now();
    const double el = std::chrono::duration<double>(now - t0).count();
    const double eta = el / static_cast<double>(done) * static_cast<double>(total - done);
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
  CLI::App* s = app.add_subcommand("sweep", "train every (H, seed) of a grid in parallel; write runs.csv, summary.csv, "
                                            "report.html (see also: sweep merge)");
  add_grid_flags(s, c->hs, c->seeds, c->seed_start, c->jobs, c->shard);
  s->add_option("--out", c->out, "output directory (new or empty; --force overwrites)")->check(non_empty_path());
  add_training_flags(s, *c, "cpu | cuda (on cuda each H trains as one stack, one H at a time)");
  s->add_flag("--quiet", c->quiet, "no progress output");
  s->add_flag("--force", c->force, "let --out write into a directory that already holds files (overwriting them)");
  s->require_subcommand(0, 1);
  CLI::App* m = s->add_subcommand("merge", "combine shard directories of one sweep (same configuration, disjoint "
                                           "runs) and rewrite the summary and report");
  m->add_option("DIRS", c->merge_dirs, "shard output directories")->required();
  m->add_option("--out", c->merge_out, "output directory")->required();
  m->add_flag("--force", c->force, "let --out write into a directory that already holds files (overwriting them)");
  return [c, m] { return m->parsed() ? run_merge(*c) : run_sweep(*c); };
}

}  // namespace toy::app
