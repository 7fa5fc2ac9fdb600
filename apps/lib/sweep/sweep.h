// Sweeps over head size H, model settings (--grid: heads, layers, ffn, ...) and seeds: the grid and its shards,
// training every run (each grid point's seeds as stacks of models, spread over a thread pool), the per-grid-point
// outcome statistics, and the sweep directory (sweep.json, runs.csv, summary.csv,
// timing.csv, report.html, two SVG plots) with merging of shards.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "apps/lib/sweep/grid.h"
#include "apps/lib/sweep/stats.h"
#include "apps/lib/training/settings.h"
#include "apps/lib/training/verdict.h"
#include "core/memory.h"
#include "layers/toy_model.h"
#include "optim/early_stopping.h"
#include "optim/plateau.h"

namespace toy {

// Everything that decides the numbers of a sweep (and nothing that does not: --jobs, --out, the shard): the training
// settings every run shares (apps/lib/training/settings.h; their arch is the base every grid point starts from), the
// grid, and the verdict's threshold.
// The grid's axes in order (the first the slowest) are `axes` with H inserted at position h_axis; then the seeds.
// `--H 10,20,40` alone is the H-only grid every sweep had before --grid (axes empty, h_axis 0).
struct SweepConfig : TrainSettings {
  std::vector<int64_t> Hs{10, 20, 40};  // the H axis
  std::vector<GridAxis> axes;           // the model axes (heads, layers, ...): never H
  int64_t h_axis = 0;                   // H's place among the axes: 0 .. axes.size()
  int64_t seeds = 100;       // seeds seed_start .. seed_start + seeds - 1 for every grid point
  uint64_t seed_start = 1;   // `train`'s default seed is 1
  double solved_share = 0.9;    // the verdict's threshold (VerdictRules)
  std::string corpus_source = "notebook";  // "notebook" or the --corpus path (informational; the corpus is stored)
  // The files' grid layout: model axes as columns, attn_heads, summary.csv's path. Off for the H-only grid of the
  // notebook's model, whose files stay those of every sweep before --grid, byte for byte.
  bool grid_layout() const { return !axes.empty() || !arch.notebook(); }
};

// Set the grid from --grid's axes (parse_grid) and --H: an H axis in `axes` replaces `Hs` and keeps its place;
// without one, H (from --H) is the first axis.
void set_grid(SweepConfig& c, const std::vector<GridAxis>& axes);
// Every axis in grid order, H included ({"H", Hs} at h_axis).
std::vector<GridAxis> grid_axes(const SweepConfig& c);
// The number of grid points (the product of the axes' sizes); refuses more than kMaxGridPoints, naming --grid.
constexpr int64_t kMaxGridPoints = int64_t{1} << 20;
int64_t grid_point_count(const SweepConfig& c);

// One point of the grid: H and the model (the base settings' arch with the point's values set).
struct GridPoint {
  int64_t H = 20;
  ToyArch arch;
};
// The grid's points in grid order (the first axis slowest).
std::vector<GridPoint> grid_points(const SweepConfig& c);
// "heads=2 layers=1" (the model axes' values of a point; "" for an H-only grid).
std::string point_label(const SweepConfig& c, const ToyArch& arch);
// How the seeds of a point with this model train, as summary.csv's path column and the printed summary say it:
// "fused stacks" (the notebook's model: the seeds as stacks of models, one fused step for all) or "graph stacks" (the
// same with --step graph, and every variant). No commas: a CSV field as it is.
std::string training_path(const SweepConfig& c, const ToyArch& arch);

struct RunSpec {
  int64_t H = 20;
  uint64_t seed = 1;
  int64_t index = 0;  // position in the full grid: grid points in grid order, then seeds ascending
  ToyArch arch;       // the grid point's model
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
  // corpus has none. The notebook: AttnWts[s, 3 ('the'), 1 ('man'/'woman')], mean over the two sentences. A model
  // with several blocks or heads: the maximum of attn_heads, the strongest evidence head (`train`'s run.json
  // reports block 0's head 0 instead).
  float attn_the_to_subject = 0;
  double seconds = 0, us_per_step = 0;
  ToyArch arch;                   // the grid point's model
  std::vector<float> attn_heads;  // the same per (block, head): L0h0 L0h1 ... L1h0 ... (runs.csv: attn_heads)
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

// Check the configuration (head sizes, the grid's axes, seeds, optimizer, plateau options, batch vs corpus, and that
// one model of every grid point fits in memory and trains on the --step asked for) before any work.
void validate(const SweepConfig& c, const ToyCorpus& corpus);

// Train every run of `runs`; results in the order of `runs`. `on_done` is called (serialized, from any thread)
// after each finished run with the number done so far. This is the one place a sweep trains: the runs of each grid
// point are trained as stacks of independent models (ToyModel with seeds: one step serves the whole stack, and every
// model gets exactly the numbers it gets alone), most costly first, spread over a pool of `jobs` threads. On CUDA each grid point of the notebook's model is one stack (one graph replay per step for all its
// seeds) and everything goes one at a time. max_stack bounds the models per stack (0 = as large as the thread count
// allows). `cancel`, when given and set
// (from another thread: the Python module's Ctrl-C), ends every stack after its current epoch and train_runs throws
// toy::Error("sweep: stopped").
using RunDone = std::function<void(const RunResult& r, int64_t done, int64_t total)>;
// The cost of one model's training step, in units of about 0.05 us (an estimate from measurements on the CPU, for
// sharing out work and the progress line's ETA): a variant's step costs 2x-35x the notebook model's.
double model_step_cost(int64_t H, const ToyArch& a);
// How train_runs shares out the work: tasks of runs (indices into `runs`) trained together, most costly first (each
// free thread takes the next: longest-processing-time first). The runs of a grid point with the notebook's model
// are stacks, cut into pieces of about 1/8 of a thread's share (the notebook's model: whole groups of 8, the CPU's SIMD
// lanes; on CUDA one stack per point), and no larger than max_stack (> 0) or than `budget` bytes shared by the
// threads allow (model_bytes: one model's bytes; see sweep_model_bytes). cost: model-steps weighted by an estimate of
// their time (units of ~0.05 us per step).
struct SweepTask {
  std::vector<size_t> runs;
  double cost = 0;
};
std::vector<SweepTask> plan_tasks(const SweepConfig& c, const std::vector<RunSpec>& runs, int jobs,
                                  int64_t max_stack = 0, const std::function<double(const RunSpec&)>& model_bytes = {},
                                  double budget = memory_budget_bytes());
// The bytes one model of a grid point holds while its stack trains (the stack at --batch and its whole-corpus view).
double sweep_model_bytes(const SweepConfig& c, const ToyCorpus& corpus, int64_t H, const ToyArch& arch);
std::vector<RunResult> train_runs(const ToyCorpus& corpus, const SweepConfig& c, const std::vector<RunSpec>& runs,
                                  int jobs, const RunDone& on_done = {}, int64_t max_stack = 0,
                                  const std::atomic<bool>* cancel = nullptr);

// Runs of one outcome: count, rate and its 95% Wilson interval.
struct OutcomeCount {
  int64_t k = 0;
  double rate = 0;
  Interval ci;
};
// One grid point's row (the name is from when H was the only axis).
struct HSummary {
  int64_t H = 0, runs = 0;
  ToyArch arch;  // the grid point's model
  OutcomeCount solved, stuck, unfinished;  // (runs without judged positions count in none of them)
  double loss_median = 0, loss_q1 = 0, loss_q3 = 0;  // linear interpolation between order statistics (numpy's)
};
// One row per grid point of the config (in grid order), over the runs present.
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
// The H-only grid of the notebook's model (SweepConfig::grid_layout() false) has the layout of every sweep before
// --grid:
//   runs.csv     H,seed,final_loss,final_lr,outcome,share,solved,attn_the_to_subject,epochs,lr_reductions
//   summary.csv  H,runs,{solved,stuck,unfinished}{,_rate,_rate_lo95,_rate_hi95},final_loss_median,_q1,_q3
//   timing.csv   H,seed,seconds,us_per_step
// The grid layout adds the model axes as columns after H (in grid order), to runs.csv attn_heads after
// attn_the_to_subject (space-separated, L0h0 L0h1 ... L1h0 ...), and to summary.csv the path column last.
std::string runs_csv(const SweepConfig& c, const std::vector<RunResult>& runs);
std::string summary_csv(const SweepConfig& c, const std::vector<HSummary>& s);
std::string timing_csv(const SweepConfig& c, const std::vector<RunResult>& runs);
// The H-only layout alone (what the above write when grid_layout() is false).
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
// Combine shard directories: same configuration (all but the shard; the grid included), no run twice. Throws a clear
// error otherwise. `warnings` gets a line when grid points are missing.
SweepData merge_sweeps(const std::vector<std::string>& dirs, std::vector<std::string>* warnings = nullptr);

}  // namespace toy
