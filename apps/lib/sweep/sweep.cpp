// Sweeps: the grid, the runs (thread pool) and the statistics. The sweep directory's files: sweep_dir.cpp.
#include "apps/lib/sweep/sweep.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <exception>
#include <limits>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include "apps/lib/training/train.h"
#include "apps/lib/training/train_run.h"
#include "core/backend.h"
#include "core/error.h"
#include "core/memory.h"

namespace toy {

std::string Shard::str() const { return fmt::format("{}/{}", index, count); }

Shard parse_shard(const std::string& s) {
  auto slash = s.find('/');
  Shard sh;
  bool ok = slash != std::string::npos;
  if (ok) {
    try {
      size_t u1 = 0, u2 = 0;
      std::string a = s.substr(0, slash), b = s.substr(slash + 1);
      sh.index = std::stoll(a, &u1);
      sh.count = std::stoll(b, &u2);
      ok = u1 == a.size() && u2 == b.size();
    } catch (const std::logic_error&) {
      ok = false;
    }
  }
  TOY_CHECK(ok && sh.count >= 1 && sh.index >= 1 && sh.index <= sh.count,
            "--shard '{}': expected i/n with 1 <= i <= n (shards are numbered from 1), e.g. 2/4", s);
  return sh;
}

std::vector<int64_t> parse_int_list(const std::string& s, const std::string& flag) {
  std::vector<int64_t> out;
  std::stringstream ss(s);
  for (std::string tok; std::getline(ss, tok, ',');) {
    int64_t v = 0;
    try {
      size_t used = 0;
      v = std::stoll(tok, &used);
      TOY_CHECK(used == tok.size() && v > 0, "{}: '{}' is not a positive integer", flag, tok);
    } catch (const std::logic_error&) {
      fail("{}: '{}' is not a positive integer", flag, tok);
    }
    TOY_CHECK(std::find(out.begin(), out.end(), v) == out.end(), "{}: {} is listed twice", flag, v);
    out.push_back(v);
  }
  TOY_CHECK(!out.empty(), "{}: empty list", flag);
  return out;
}

// --- the grid --------------------------------------------------------------------------------------------------------

void set_grid(SweepConfig& c, const std::vector<GridAxis>& axes) {
  c.axes.clear();
  c.h_axis = 0;
  for (const GridAxis& a : axes) {
    if (a.name != "H") {
      c.axes.push_back(a);
      continue;
    }
    c.Hs = a.values;
    c.h_axis = static_cast<int64_t>(c.axes.size());
  }
}

std::vector<GridAxis> grid_axes(const SweepConfig& c) {
  std::vector<GridAxis> all = c.axes;
  const int64_t at = std::clamp<int64_t>(c.h_axis, 0, static_cast<int64_t>(all.size()));
  all.insert(all.begin() + at, GridAxis{"H", c.Hs});
  return all;
}

int64_t grid_point_count(const SweepConfig& c) {
  double n = 1;
  for (const GridAxis& a : grid_axes(c)) n *= static_cast<double>(a.values.size());
  TOY_CHECK(n <= static_cast<double>(kMaxGridPoints), "--grid: {} grid points (at most {}); split the sweep", n,
            kMaxGridPoints);
  return static_cast<int64_t>(n);
}

std::vector<GridPoint> grid_points(const SweepConfig& c) {
  const std::vector<GridAxis> axes = grid_axes(c);
  std::vector<GridPoint> out;
  for (const GridAxis& a : axes)
    if (a.values.empty()) return out;
  std::vector<size_t> at(axes.size(), 0);  // a mixed-radix counter over the axes' values, the last axis fastest
  while (true) {
    GridPoint p{0, c.arch};
    for (size_t k = 0; k < axes.size(); ++k) set_axis(axes[k].name, axes[k].values[at[k]], p.H, p.arch);
    out.push_back(p);
    size_t k = axes.size();
    for (; k > 0; --k) {
      if (++at[k - 1] < axes[k - 1].values.size()) break;
      at[k - 1] = 0;
    }
    if (k == 0) return out;
  }
}

std::string point_label(const SweepConfig& c, const ToyArch& arch) {
  std::string s;
  for (const GridAxis& a : c.axes)
    s += fmt::format("{}{}={}", s.empty() ? "" : " ", a.name, axis_value_text(a.name, axis_value(a.name, 0, arch)));
  return s;
}

std::string training_path(const SweepConfig& c, const ToyArch& arch) {
  if (!arch.notebook()) return "graph stacks";
  return step_is_fused(c.step_path(), Device::CPU, arch) ? "fused stacks" : "graph stacks";
}

std::vector<RunSpec> sweep_grid(const SweepConfig& c) {
  std::vector<RunSpec> g;
  for (const GridPoint& p : grid_points(c))
    for (int64_t i = 0; i < c.seeds; ++i)
      g.push_back(RunSpec{p.H, c.seed_start + static_cast<uint64_t>(i), static_cast<int64_t>(g.size()), p.arch});
  return g;
}

std::vector<RunSpec> shard_of(const std::vector<RunSpec>& grid, const Shard& s) {
  std::vector<RunSpec> out;
  for (const RunSpec& r : grid)
    if (r.index % s.count == s.index - 1) out.push_back(r);
  return out;
}

// --- checks before any work -----------------------------------------------------------------------------------------

namespace {

// The settings a grid point trains with: the sweep's, with the point's model.
TrainSettings point_settings(const SweepConfig& c, const ToyArch& arch) {
  TrainSettings s = c;
  s.arch = arch;
  return s;
}

// The axes as set_grid leaves them: known model axes (H is Hs), each checked, none twice; H's place in range.
void check_grid(const SweepConfig& c) {
  for (size_t i = 0; i < c.axes.size(); ++i) {
    TOY_CHECK(c.axes[i].name != "H", "--grid: H is given twice");
    check_axis(c.axes[i], "--grid");
    for (size_t j = 0; j < i; ++j)
      TOY_CHECK(c.axes[j].name != c.axes[i].name, "--grid: the axis '{}' is given twice", c.axes[i].name);
  }
  TOY_CHECK(c.h_axis >= 0 && c.h_axis <= static_cast<int64_t>(c.axes.size()),
            "--grid: H's place {} is not one of 0 .. {}", c.h_axis, c.axes.size());
}

// One model of the point (and its whole-corpus evaluation model) must fit in memory, and train on --step.
void check_point(const SweepConfig& c, const ToyCorpus& corpus, const GridPoint& p) {
  p.arch.validate();
  (void)step_is_fused(c.step_path(), Device::CPU, p.arch);  // --step fused refuses a variant, naming --step
  const double bytes = sweep_model_bytes(c, corpus, p.H, p.arch);
  const std::string label = point_label(c, p.arch);
  TOY_CHECK(bytes <= memory_budget_bytes(),
            "sweep: the grid point H={}{}{} needs about {} of memory for one model; this machine allows {} (a smaller "
            "H, fewer heads or layers, or a narrower --ffn)",
            p.H, label.empty() ? "" : " ", label, human_bytes(bytes), human_bytes(memory_budget_bytes()));
}

}  // namespace

double sweep_model_bytes(const SweepConfig& c, const ToyCorpus& corpus, int64_t H, const ToyArch& arch) {
  const int64_t V = corpus.vocab_size(), T = corpus.seq_len(), N = corpus.size();
  double bytes = toy_model_bytes(V, T, H, c.batch, 1, arch);
  if (c.batch != N) bytes += toy_model_bytes(V, T, H, N, 1, arch);  // the whole-corpus view of the stack
  return bytes;
}

void validate(const SweepConfig& c, const ToyCorpus& corpus) {
  TOY_CHECK(!c.Hs.empty(), "--H: no head sizes");
  for (int64_t H : c.Hs) TOY_CHECK(H > 0, "--H must be positive, got {}", H);
  check_grid(c);
  (void)grid_point_count(c);
  TOY_CHECK(c.seeds > 0, "--seeds must be positive, got {}", c.seeds);
  TOY_CHECK(static_cast<uint64_t>(c.seeds) - 1 <= std::numeric_limits<uint64_t>::max() - c.seed_start,
            "--seed-start {} with --seeds {}: the last seed would pass 2^64 - 1", c.seed_start, c.seeds);
  const std::vector<GridPoint> points = grid_points(c);
  // Every run keeps a row of results and its loss history in memory until the sweep is written.
  const double runs = static_cast<double>(c.seeds) * static_cast<double>(points.size());
  const double bytes = runs * (256.0 + 8.0 * static_cast<double>(c.epochs));
  TOY_CHECK(bytes <= memory_budget_bytes(), "sweep: {} runs of {} epochs need about {} of memory for their results "
            "alone (this machine allows {}); split the grid with --shard i/n or use fewer --seeds",
            runs, c.epochs, human_bytes(bytes), human_bytes(memory_budget_bytes()));
  TOY_CHECK(c.solved_share >= 0.5 && c.solved_share <= 1.0, "--solved-share must be in [0.5, 1], got {}",
            c.solved_share);
  c.validate();
  check_batch(c.batch, corpus);
  check_step_limit(c.epochs, corpus.size() / c.batch);
  (void)parse_device(c.device.c_str());  // a missing GPU, before any work
  for (const GridPoint& p : points) check_point(c, corpus, p);
  const TrainSettings first = point_settings(c, points.front().arch);
  ToyModel m(corpus, toy_config(first, points.front().H, c.seed_start), c.batch);
  check_optimizer(m, train_options(first));
}

// --- training --------------------------------------------------------------------------------------------------------

namespace {

// Attention from the judged positions to their evidence (verdict.h: attention_to_evidence) for every head of every
// block of model m of `view`, in the order L0h0 L0h1 ... L1h0 ... (the notebook's model: its one AttnWts).
std::vector<float> evidence_per_head(const ToyCorpus& corpus, const ToyModel& view, int64_t m) {
  std::vector<float> out;
  for (const std::string& layer : view.attention_layers()) {
    const Tensor attn = view.activation_of(layer, m);  // [N, T, T] or [N, heads, T, T]
    for (int64_t h = 0; h < attention_heads(attn); ++h)
      out.push_back(attention_to_evidence(corpus, attention_head(attn, h)));
  }
  return out;
}

// The strongest evidence head: the largest value, NaN when every value is (no judged positions).
float strongest(const std::vector<float>& v) {
  float best = std::numeric_limits<float>::quiet_NaN();
  for (float x : v)
    if (!std::isnan(x) && (std::isnan(best) || x > best)) best = x;
  return best;
}

// Train runs of one grid point together, as a stack of models (one ToyModel holding every seed: the notebook's
// model), or a single run (a variant), and evaluate each model over the whole corpus as `train` does.
std::vector<RunResult> train_stack(const ToyCorpus& corpus, const SweepConfig& c, const std::vector<RunSpec>& runs,
                                   const std::atomic<bool>* cancel) {
  const auto t0 = std::chrono::steady_clock::now();
  const TrainSettings s = point_settings(c, runs.front().arch);
  const ToyConfig cfg = toy_config(s, runs.front().H, runs.front().seed);
  std::vector<uint64_t> seeds;
  for (const RunSpec& r : runs) seeds.push_back(r.seed);
  ToyModel m(corpus, cfg, c.batch, seeds);
  TrainOptions o = train_options(s);
  o.step_activations = false;  // nothing reads them (nor the weights) before the evaluation below
  o.weights_in_lanes = true;
  if (cancel)
    o.on_epoch = [cancel](const EpochInfo&) {
      if (cancel->load(std::memory_order_relaxed)) fail("sweep: stopped");
    };
  std::vector<TrainResult> tr = train_models(m, corpus, o);
  // Evaluate over the whole corpus, as `train` does: the weights do not depend on the batch size.
  CorpusView cv(m, corpus, cfg, c.batch, seeds);
  ToyModel* view = &cv.refresh();
  const std::vector<float> losses = view->losses();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::vector<RunResult> out;
  for (size_t i = 0; i < runs.size(); ++i) {
    const int64_t mi = static_cast<int64_t>(i);
    RunResult o;
    o.H = runs[i].H;
    o.seed = runs[i].seed;
    o.index = runs[i].index;
    o.arch = runs[i].arch;
    o.epochs = static_cast<int64_t>(tr[i].loss.size());
    o.final_loss = losses[i];
    o.final_lr = tr[i].final_lr;
    o.lr_reductions = static_cast<int64_t>(tr[i].reductions.size());
    const Verdict v = judge(decision_shares(corpus, cfg.loss, view->activation_of(view->logits_layer(), mi),
                                            view->activation_of("activation", mi)),
                            training_trace(tr[i], c), VerdictRules{.solved_share = c.solved_share});
    o.outcome = v.outcome;
    o.share = v.share;
    o.attn_heads = evidence_per_head(corpus, *view, mi);
    o.attn_the_to_subject = strongest(o.attn_heads);
    o.seconds = seconds / static_cast<double>(runs.size());  // the stack's time, shared by its models
    o.us_per_step = tr[i].us_per_step;
    out.push_back(o);
  }
  return out;
}

}  // namespace

// The notebook's model in a stack on the CPU's fused step: 100 + H (measured: 5.5 / 5.7 / 7.2 us at H = 10 / 20 /
// 40). A variant alone on the graph step, fit to `train` on a 2-core x86-64 (us): 2 + layers x (block), block =
// 5 + 0.12 H without W_O (heads 1: 13 / 20 us at layers 2, H 10 / 40), 5 + 0.55 heads H with it (heads 2 / 4 at
// H 40: 51 / 95 us), + 0.38 ffn (ffn 256: +97 us), + 6 per LayerNorm.
double model_step_cost(int64_t H, const ToyArch& a) {
  if (a.notebook()) return 100.0 + static_cast<double>(H);
  const double h = static_cast<double>(H), heads = static_cast<double>(a.heads);
  double block = a.has_wo() ? 5 + 0.55 * heads * h : 5 + 0.12 * h;
  block += 0.38 * static_cast<double>(a.ffn) + (a.norm ? 6.0 * (a.ffn > 0 ? 2 : 1) : 0.0);
  return 20.0 * (2 + static_cast<double>(a.layers) * block);
}

// With ~8 pieces per thread the last thread to finish idles for at most a small piece. A model's numbers do not
// depend on its stack (tests/test_toy_stack.cpp).
std::vector<SweepTask> plan_tasks(const SweepConfig& c, const std::vector<RunSpec>& runs, int jobs, int64_t max_stack,
                                  const std::function<double(const RunSpec&)>& model_bytes, double budget) {
  const bool cuda = c.device == "cuda";
  jobs = std::max(1, jobs);
  std::map<int64_t, std::vector<size_t>> by_point;  // grid point (index / seeds) -> its runs
  std::vector<SweepTask> tasks;
  double total_cost = 0;
  for (size_t i = 0; i < runs.size(); ++i) {
    total_cost += model_step_cost(runs[i].H, runs[i].arch);
    by_point[runs[i].index / std::max<int64_t>(c.seeds, 1)].push_back(i);
  }
  const double piece_cost = total_cost / (8.0 * jobs);
  for (auto& [point, idx] : by_point) {
    const double unit = model_step_cost(runs[idx[0]].H, runs[idx[0]].arch);
    int64_t size = cuda || jobs == 1 ? static_cast<int64_t>(idx.size())
                                     : std::max<int64_t>(1, static_cast<int64_t>(piece_cost / unit));
    // The CPU's fused step runs 8 models at once in SIMD lanes (layers/toy_step_cpu.cpp): whole groups of 8.
    if (!cuda && size > 8 && runs[idx[0]].arch.notebook()) size = (size + 4) / 8 * 8;
    if (max_stack > 0) size = std::min(size, max_stack);
    // Every thread may hold a stack at once: a stack gets at most its thread's share of the memory budget (at least
    // one model, which check_point found to fit).
    if (model_bytes) {
      const double fit = std::floor(budget / (static_cast<double>(cuda ? 1 : jobs) * model_bytes(runs[idx[0]])));
      size = std::max<int64_t>(1, std::min(size, static_cast<int64_t>(std::min(fit, 1e15))));
    }
    for (size_t s = 0; s < idx.size(); s += static_cast<size_t>(size)) {
      SweepTask t;
      t.runs.assign(idx.begin() + static_cast<std::ptrdiff_t>(s),
                    idx.begin() + static_cast<std::ptrdiff_t>(std::min(idx.size(), s + static_cast<size_t>(size))));
      t.cost = static_cast<double>(t.runs.size()) * unit;
      tasks.push_back(std::move(t));
    }
  }
  std::stable_sort(tasks.begin(), tasks.end(),
                   [](const SweepTask& a, const SweepTask& b) { return a.cost > b.cost; });
  return tasks;
}

std::vector<RunResult> train_runs(const ToyCorpus& corpus, const SweepConfig& c, const std::vector<RunSpec>& runs,
                                  int jobs, const RunDone& on_done, int64_t max_stack, const std::atomic<bool>* cancel) {
  std::vector<RunResult> out(runs.size());
  if (runs.empty()) return out;
  if (c.device == "cuda") jobs = 1;
  jobs = std::max(1, jobs);
  const std::vector<SweepTask> tasks = plan_tasks(c, runs, jobs, max_stack, [&](const RunSpec& r) {
    return sweep_model_bytes(c, corpus, r.H, r.arch);
  });
  std::atomic<size_t> next{0};
  std::atomic<bool> stop{false};
  std::mutex mu;
  std::exception_ptr error;
  int64_t done = 0;
  const int64_t total = static_cast<int64_t>(runs.size());
  auto worker = [&] {
    while (!stop.load()) {
      const size_t k = next.fetch_add(1);
      if (k >= tasks.size()) return;
      try {
        std::vector<RunSpec> specs;
        for (size_t i : tasks[k].runs) specs.push_back(runs[i]);
        std::vector<RunResult> rs = train_stack(corpus, c, specs, cancel);
        std::lock_guard<std::mutex> lock(mu);
        for (size_t j = 0; j < rs.size(); ++j) {
          out[tasks[k].runs[j]] = rs[j];
          ++done;
          if (on_done) on_done(rs[j], done, total);
        }
      } catch (...) {
        std::lock_guard<std::mutex> lock(mu);
        if (!error) error = std::current_exception();
        stop = true;
        return;
      }
    }
  };
  const int threads = static_cast<int>(std::min<size_t>(static_cast<size_t>(jobs), tasks.size()));
  if (threads <= 1) {
    worker();
  } else {
    std::vector<std::thread> pool;
    for (int k = 0; k < threads; ++k) pool.emplace_back(worker);
    for (auto& t : pool) t.join();
  }
  if (error) std::rethrow_exception(error);
  return out;
}

// --- statistics ------------------------------------------------------------------------------------------------------

std::vector<HSummary> summarize(const SweepConfig& c, const std::vector<RunResult>& runs) {
  std::vector<HSummary> out;
  for (const GridPoint& p : grid_points(c)) {
    HSummary s;
    s.H = p.H;
    s.arch = p.arch;
    std::vector<double> losses;
    for (const RunResult& r : runs) {
      if (r.H != p.H || !(r.arch == p.arch)) continue;
      ++s.runs;
      s.solved.k += r.outcome == Outcome::Solved;
      s.stuck.k += r.outcome == Outcome::Stuck;
      s.unfinished.k += r.outcome == Outcome::Unfinished;
      losses.push_back(static_cast<double>(r.final_loss));
    }
    for (OutcomeCount* oc : {&s.solved, &s.stuck, &s.unfinished}) {
      oc->rate = s.runs ? static_cast<double>(oc->k) / static_cast<double>(s.runs) : 0.0;
      oc->ci = wilson_interval(oc->k, s.runs);
    }
    const double nan = std::numeric_limits<double>::quiet_NaN();
    s.loss_median = s.runs ? quantile(losses, 0.5) : nan;
    s.loss_q1 = s.runs ? quantile(losses, 0.25) : nan;
    s.loss_q3 = s.runs ? quantile(losses, 0.75) : nan;
    out.push_back(s);
  }
  return out;
}

}  // namespace toy
