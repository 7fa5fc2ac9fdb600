// Sweeps over head size H and seeds: the (H, seed) grid and its shards, training every run (the seeds of an H as
// stacks of models, spread over a thread pool), the per-H outcome statistics, and the sweep directory (sweep.json,
// runs.csv, summary.csv, timing.csv, report.html, two SVG plots) with merging of shards.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "apps/lib/sweep/stats.h"
#include "apps/lib/training/settings.h"
#include "apps/lib/training/verdict.h"
#include "layers/toy_model.h"
#include "optim/early_stopping.h"
#include "optim/plateau.h"

namespace toy {

// Everything that decides the numbers of a sweep (and nothing that does not: --jobs, --out, the shard): the training
// settings every run shares (apps/lib/training/settings.h), the grid, and the verdict's threshold.
struct SweepConfig : TrainSettings {
  std::vector<int64_t> Hs{10, 20, 40};
  int64_t seeds = 100;       // seeds seed_start .. seed_start + seeds - 1 for every H
  uint64_t seed_start = 1;   // `train`'s default seed is 1
  double solved_share = 0.9;    // the verdict's threshold (VerdictRules)
  std::string corpus_source = "notebook";  // "notebook" or the --corpus path (informational; the corpus is stored)
};

struct RunSpec {
  int64_t H = 20;
  uint64_t seed = 1;
  int64_t index = 0;  // position in the full grid: H-major (the order of --H), then seeds ascending
};

// One run's outcome. Everything but `seconds` and `us_per_step` is a deterministic function of (config, H, seed).
struct RunResult {
  int64_t H = 0;
  uint64_t seed = 0;
  int64_t index = 0;
  int64_t epochs = 0;
  float final_loss = 0;  // the loss at the final weights over the whole corpus (= `train --json`'s final_loss)
  float final_lr = 0;
  int64_t lr_reductions = 0;
  Outcome outcome = Outcome::None;  // `train`'s verdict
  double share = 0;                 // the decision share the outcome rests on (NaN without judged positions)
  bool solved() const { return outcome == Outcome::Solved; }
  // Attention from each judged position to its evidence position, mean over the judged positions; NaN when the
  // corpus has none. The notebook: AttnWts[s, 3 ('the'), 1 ('man'/'woman')], mean over the two sentences.
  float attn_the_to_subject = 0;
  double seconds = 0, us_per_step = 0;
};

struct Shard {
  int64_t index = 1, count = 1;  // 1-based: shard i of n takes the grid points whose index k has k % n == i - 1
  std::string str() const;       // "i/n"
};
// "i/n" with 1 <= i <= n; throws a clear error otherwise.
Shard parse_shard(const std::string& s);
// "10,20,40" -> {10, 20, 40}: positive, no repeats; `flag` names the option in errors.
std::vector<int64_t> parse_int_list(const std::string& s, const std::string& flag);

std::vector<RunSpec> sweep_grid(const SweepConfig& c);
std::vector<RunSpec> shard_of(const std::vector<RunSpec>& grid, const Shard& s);

// Check the configuration (head sizes, seeds, optimizer, plateau options, batch vs corpus) before any work.
void validate(const SweepConfig& c, const ToyCorpus& corpus);

// Train every run of `runs`; results in the order of `runs`. `on_done` is called (serialized, from any thread)
// after each finished run with the number done so far. This is the one place a sweep trains: the runs of each H
// are trained as stacks of independent models (ToyModel with seeds: one graph step serves the whole stack, and
// every model gets exactly the numbers it gets alone), the stacks spread over a pool of `jobs` threads.
// On CUDA each H is one stack (one graph replay per step for all its seeds) and the stacks go one at a time.
// max_stack bounds the models per stack (0 = as large as the thread count allows). `cancel`, when given and set
// (from another thread: the Python module's Ctrl-C), ends every stack after its current epoch and train_runs throws
// toy::Error("sweep: stopped").
using RunDone = std::function<void(const RunResult& r, int64_t done, int64_t total)>;
std::vector<RunResult> train_runs(const ToyCorpus& corpus, const SweepConfig& c, const std::vector<RunSpec>& runs,
                                  int jobs, const RunDone& on_done = {}, int64_t max_stack = 0,
                                  const std::atomic<bool>* cancel = nullptr);

// Runs of one outcome: count, rate and its 95% Wilson interval.
struct OutcomeCount {
  int64_t k = 0;
  double rate = 0;
  Interval ci;
};
struct HSummary {
  int64_t H = 0, runs = 0;
  OutcomeCount solved, stuck, unfinished;  // (runs without judged positions count in none of them)
  double loss_median = 0, loss_q1 = 0, loss_q3 = 0;  // linear interpolation between order statistics (numpy's)
};
// One row per H of the config (in --H order), over the runs present.
std::vector<HSummary> summarize(const SweepConfig& c, const std::vector<RunResult>& runs);

// A sweep directory's contents.
struct SweepData {
  SweepConfig config;
  ToyCorpus corpus;
  Shard shard;                     // 1/1 for a full or merged sweep
  std::vector<RunResult> runs;     // in grid order
  int64_t grid_size = 0;           // the full grid, all shards
  std::vector<std::string> merged_from;
};

// Files, byte-identical for the same arguments (no timing): runs.csv and summary.csv; timing.csv holds the seconds.
std::string runs_csv(const std::vector<RunResult>& runs);
std::string summary_csv(const std::vector<HSummary>& s);
std::string timing_csv(const std::vector<RunResult>& runs);
// The table `sweep` prints.
std::string summary_table(const SweepData& d);
nlohmann::json sweep_json(const SweepData& d);

// Write runs.csv, summary.csv and timing.csv into dir (created), each atomically. The whole directory, with the
// figures, report.html and sweep.json (written last), is apps/lib/visual/report.h: write_sweep_dir.
void write_sweep_tables(const std::string& dir, const SweepData& d);
// Read a directory written by write_sweep_dir (timing.csv is optional); errors name the file.
SweepData load_sweep_dir(const std::string& dir);
// Combine shard directories: same configuration (all but the shard), no (H, seed) twice. Throws a clear error
// otherwise. `warnings` gets a line when grid points are missing.
SweepData merge_sweeps(const std::vector<std::string>& dirs, std::vector<std::string>* warnings = nullptr);

}  // namespace toy
