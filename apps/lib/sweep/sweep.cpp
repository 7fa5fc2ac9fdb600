// Sweeps: the grid, the runs (thread pool), the statistics and the sweep directory.
#include "apps/lib/sweep/sweep.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <exception>
#include <filesystem>
#include <limits>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "apps/lib/formats/fs_util.h"
#include "apps/lib/formats/json_limits.h"
#include "apps/lib/training/run_record.h"
#include "apps/lib/training/train.h"
#include "apps/lib/training/train_run.h"
#include "core/backend.h"
#include "core/error.h"
#include "core/memory.h"

namespace toy {
namespace {

// Shortest text that reads back as the same float (CSV values round-trip exactly through merge).
std::string fnum(float v) {
  if (std::isnan(v)) return "nan";
  return fmt::format("{}", v);
}

// A double in the shortest text that reads back as the same value.
std::string dnum(double v) {
  if (std::isnan(v)) return "nan";
  return fmt::format("{}", v);
}

std::vector<std::string> split(const std::string& line, char sep) {
  std::vector<std::string> out;
  std::string cur;
  for (char ch : line) {
    if (ch == sep) {
      out.push_back(cur);
      cur.clear();
    } else if (ch != '\r') {
      cur += ch;
    }
  }
  out.push_back(cur);
  return out;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) {
    if (!l.empty() && l.back() == '\r') l.pop_back();
    if (!l.empty()) out.push_back(l);
  }
  return out;
}

int64_t to_int(const std::string& s, const std::string& where) {
  try {
    size_t used = 0;
    long long v = std::stoll(s, &used);
    if (used == s.size()) return v;
  } catch (const std::logic_error&) {
  }
  fail("{}: '{}' is not an integer", where, s);
}

uint64_t to_uint(const std::string& s, const std::string& where) {
  try {
    size_t used = 0;
    if (!s.empty() && s[0] != '-') {
      unsigned long long v = std::stoull(s, &used);
      if (used == s.size()) return v;
    }
  } catch (const std::logic_error&) {
  }
  fail("{}: '{}' is not a non-negative integer", where, s);
}

float to_float(const std::string& s, const std::string& where) {
  if (s == "nan") return std::numeric_limits<float>::quiet_NaN();
  char* end = nullptr;
  float v = std::strtof(s.c_str(), &end);
  TOY_CHECK(!s.empty() && end == s.c_str() + s.size(), "{}: '{}' is not a number", where, s);
  return v;
}

double to_double(const std::string& s, const std::string& where) {
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  TOY_CHECK(!s.empty() && end == s.c_str() + s.size(), "{}: '{}' is not a number", where, s);
  return v;
}

constexpr const char* kRunsHeader =
    "H,seed,final_loss,final_lr,outcome,share,solved,attn_the_to_subject,epochs,lr_reductions";
constexpr const char* kTimingHeader = "H,seed,seconds,us_per_step";

// sweep.json's "config": the training settings' own mapping (apps/lib/training/settings.h) plus the grid and the
// threshold.
nlohmann::json config_to_json(const SweepConfig& c) {
  nlohmann::json j = static_cast<const TrainSettings&>(c);
  j["H"] = c.Hs;
  j["seeds"] = c.seeds;
  j["seed_start"] = c.seed_start;
  j["corpus_source"] = c.corpus_source;
  j["solved_share"] = c.solved_share;
  return j;
}

SweepConfig config_from_json(const nlohmann::json& j) {
  SweepConfig c;
  from_json(j, static_cast<TrainSettings&>(c));
  c.Hs = j.at("H").get<std::vector<int64_t>>();
  c.seeds = j.at("seeds").get<int64_t>();
  c.seed_start = j.at("seed_start").get<uint64_t>();
  c.corpus_source = j.value("corpus_source", std::string("notebook"));
  c.solved_share = j.at("solved_share").get<double>();
  return c;
}

}  // namespace

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

std::vector<RunSpec> sweep_grid(const SweepConfig& c) {
  std::vector<RunSpec> g;
  for (int64_t H : c.Hs)
    for (int64_t i = 0; i < c.seeds; ++i)
      g.push_back(RunSpec{H, c.seed_start + static_cast<uint64_t>(i), static_cast<int64_t>(g.size())});
  return g;
}

std::vector<RunSpec> shard_of(const std::vector<RunSpec>& grid, const Shard& s) {
  std::vector<RunSpec> out;
  for (const RunSpec& r : grid)
    if (r.index % s.count == s.index - 1) out.push_back(r);
  return out;
}

void validate(const SweepConfig& c, const ToyCorpus& corpus) {
  TOY_CHECK(!c.Hs.empty(), "--H: no head sizes");
  for (int64_t H : c.Hs) TOY_CHECK(H > 0, "--H must be positive, got {}", H);
  TOY_CHECK(c.seeds > 0, "--seeds must be positive, got {}", c.seeds);
  TOY_CHECK(static_cast<uint64_t>(c.seeds) - 1 <= std::numeric_limits<uint64_t>::max() - c.seed_start,
            "--seed-start {} with --seeds {}: the last seed would pass 2^64 - 1", c.seed_start, c.seeds);
  // Every run keeps a row of results and its loss history in memory until the sweep is written.
  const double runs = static_cast<double>(c.seeds) * static_cast<double>(c.Hs.size());
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
  ToyModel m(corpus, toy_config(c, c.Hs[0], c.seed_start), c.batch);
  check_optimizer(m, train_options(c));
}

namespace {

// Train a stack of runs with the same H (one ToyModel holding every seed) and evaluate each model.
std::vector<RunResult> train_stack(const ToyCorpus& corpus, const SweepConfig& c, const std::vector<RunSpec>& runs,
                                   const std::atomic<bool>* cancel) {
  const auto t0 = std::chrono::steady_clock::now();
  const ToyConfig cfg = toy_config(c, runs.front().H, runs.front().seed);
  std::vector<uint64_t> seeds;
  for (const RunSpec& r : runs) seeds.push_back(r.seed);
  ToyModel m(corpus, cfg, c.batch, seeds);
  TrainOptions o = train_options(c);
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
    o.epochs = static_cast<int64_t>(tr[i].loss.size());
    o.final_loss = losses[i];
    o.final_lr = tr[i].final_lr;
    o.lr_reductions = static_cast<int64_t>(tr[i].reductions.size());
    const Verdict v = judge(
        decision_shares(corpus, cfg.loss, view->activation_of("skipadd", mi), view->activation_of("activation", mi)),
        training_trace(tr[i], c), VerdictRules{.solved_share = c.solved_share});
    o.outcome = v.outcome;
    o.share = v.share;
    o.attn_the_to_subject = attention_to_evidence(corpus, view->activation_of("AttnWts", mi));
    o.seconds = seconds / static_cast<double>(runs.size());  // the stack's time, shared by its models
    o.us_per_step = tr[i].us_per_step;
    out.push_back(o);
  }
  return out;
}

}  // namespace

std::vector<RunResult> train_runs(const ToyCorpus& corpus, const SweepConfig& c, const std::vector<RunSpec>& runs,
                                  int jobs, const RunDone& on_done, int64_t max_stack, const std::atomic<bool>* cancel) {
  std::vector<RunResult> out(runs.size());
  if (runs.empty()) return out;
  const bool cuda = c.device == "cuda";
  if (cuda) jobs = 1;
  jobs = std::max(1, jobs);
  // Stacks: the runs of one H (in grid order), cut into pieces so the threads finish together. A model-step costs
  // about (100 + H) units (measured: 5.5 / 5.7 / 7.2 us at H = 10 / 20 / 40); the pieces, most costly first, go to
  // whichever thread is free (longest-processing-time first), so with ~8 pieces per thread the last one to finish
  // idles for at most a small piece. A model's numbers do not depend on its stack (tests/test_toy_stack.cpp).
  std::map<int64_t, std::vector<size_t>> by_h;
  for (size_t i = 0; i < runs.size(); ++i) by_h[runs[i].H].push_back(i);
  std::vector<std::vector<size_t>> stacks;
  auto cost = [&](const std::vector<size_t>& st) { return static_cast<double>(st.size()) * (100.0 + runs[st[0]].H); };
  double total_cost = 0;
  for (auto& [H, idx] : by_h) total_cost += static_cast<double>(idx.size()) * (100.0 + H);
  const double piece_cost = total_cost / (8.0 * jobs);
  for (auto& [H, idx] : by_h) {
    int64_t size = cuda || jobs == 1 ? static_cast<int64_t>(idx.size())
                                     : std::max<int64_t>(1, static_cast<int64_t>(piece_cost / (100.0 + H)));
    // The CPU's fused step runs 8 models at once in SIMD lanes (layers/toy_step_cpu.cpp): whole groups of 8.
    if (!cuda && size > 8) size = (size + 4) / 8 * 8;
    if (max_stack > 0) size = std::min(size, max_stack);
    for (size_t s = 0; s < idx.size(); s += static_cast<size_t>(size))
      stacks.emplace_back(idx.begin() + static_cast<std::ptrdiff_t>(s),
                          idx.begin() + static_cast<std::ptrdiff_t>(std::min(idx.size(), s + static_cast<size_t>(size))));
  }
  std::stable_sort(stacks.begin(), stacks.end(), [&](const auto& a, const auto& b) { return cost(a) > cost(b); });
  std::atomic<size_t> next{0};
  std::atomic<bool> stop{false};
  std::mutex mu;
  std::exception_ptr error;
  int64_t done = 0;
  const int64_t total = static_cast<int64_t>(runs.size());
  auto worker = [&] {
    while (!stop.load()) {
      const size_t k = next.fetch_add(1);
      if (k >= stacks.size()) return;
      try {
        std::vector<RunSpec> specs;
        for (size_t i : stacks[k]) specs.push_back(runs[i]);
        std::vector<RunResult> rs = train_stack(corpus, c, specs, cancel);
        std::lock_guard<std::mutex> lock(mu);
        for (size_t j = 0; j < rs.size(); ++j) {
          out[stacks[k][j]] = rs[j];
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
  const int threads = static_cast<int>(std::min<size_t>(static_cast<size_t>(jobs), stacks.size()));
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

std::vector<HSummary> summarize(const SweepConfig& c, const std::vector<RunResult>& runs) {
  std::vector<HSummary> out;
  for (int64_t H : c.Hs) {
    HSummary s;
    s.H = H;
    std::vector<double> losses;
    for (const RunResult& r : runs) {
      if (r.H != H) continue;
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

std::string runs_csv(const std::vector<RunResult>& runs) {
  std::string s = std::string(kRunsHeader) + "\n";
  for (const RunResult& r : runs)
    s += fmt::format("{},{},{},{},{},{},{},{},{},{}\n", r.H, r.seed, fnum(r.final_loss), fnum(r.final_lr),
                     outcome_name(r.outcome), dnum(r.share), r.solved() ? "true" : "false",
                     fnum(r.attn_the_to_subject), r.epochs, r.lr_reductions);
  return s;
}

std::string timing_csv(const std::vector<RunResult>& runs) {
  std::string s = std::string(kTimingHeader) + "\n";
  for (const RunResult& r : runs) s += fmt::format("{},{},{:.6f},{:.4f}\n", r.H, r.seed, r.seconds, r.us_per_step);
  return s;
}

std::string summary_csv(const std::vector<HSummary>& rows) {
  std::string s = "H,runs";
  for (const char* o : {"solved", "stuck", "unfinished"})
    s += fmt::format(",{0},{0}_rate,{0}_rate_lo95,{0}_rate_hi95", o);
  s += ",final_loss_median,final_loss_q1,final_loss_q3\n";
  for (const HSummary& h : rows) {
    s += fmt::format("{},{}", h.H, h.runs);
    for (const OutcomeCount* o : {&h.solved, &h.stuck, &h.unfinished})
      s += fmt::format(",{},{:.6f},{:.6f},{:.6f}", o->k, o->rate, o->ci.lo, o->ci.hi);
    s += fmt::format(",{:.6g},{:.6g},{:.6g}\n", h.loss_median, h.loss_q1, h.loss_q3);
  }
  return s;
}

std::string summary_table(const SweepData& d) {
  const SweepConfig& c = d.config;
  std::string s = fmt::format("{} runs: H {} x seeds {}..{}{}, {} epochs, {} loss, {}{}\n", d.runs.size(),
                              fmt::join(c.Hs, ","), c.seed_start, c.seed_start + static_cast<uint64_t>(c.seeds) - 1,
                              d.shard.count > 1 ? fmt::format(" (shard {})", d.shard.str()) : "", c.epochs, c.loss,
                              c.optimizer, c.plateau ? " + ReduceLROnPlateau" : "");
  // Each outcome: count, rate and its 95% Wilson interval.
  s += fmt::format("{:>5} {:>5}   {:<22}   {:<22}   {:<22} {:>9}\n", "H", "runs", "solved", "stuck", "unfinished",
                   "loss med");
  auto cell = [](const OutcomeCount& o) {
    return fmt::format("{:>3} {:>5.1f}% [{:>3.0f}-{:>3.0f}%]", o.k, 100 * o.rate, 100 * o.ci.lo, 100 * o.ci.hi);
  };
  for (const HSummary& h : summarize(c, d.runs))
    s += fmt::format("{:>5} {:>5}   {:<22}   {:<22}   {:<22} {:>9.4f}\n", h.H, h.runs, cell(h.solved), cell(h.stuck),
                     cell(h.unfinished), h.loss_median);
  s += fmt::format("(count, rate, 95% Wilson interval) solved: share >= {:g} at every judged position; stuck: not "
                   "solved, no longer improving; unfinished: not solved, still improving\n",
                   c.solved_share);
  return s;
}

nlohmann::json sweep_json(const SweepData& d) {
  nlohmann::json j;
  j["kind"] = "toyformer-sweep";
  j["config"] = config_to_json(d.config);
  j["corpus"] = corpus_json(d.corpus);
  j["shard"] = d.shard.str();
  j["grid_size"] = d.grid_size;
  j["runs"] = d.runs.size();
  if (!d.merged_from.empty()) j["merged_from"] = d.merged_from;
  return j;
}

void write_sweep_tables(const std::string& dir, const SweepData& d) {
  make_dirs(dir);
  namespace fs = std::filesystem;
  auto path = [&](const char* name) { return (fs::path(dir) / name).string(); };
  write_file_atomic(path("runs.csv"), runs_csv(d.runs));
  write_file_atomic(path("summary.csv"), summary_csv(summarize(d.config, d.runs)));
  write_file_atomic(path("timing.csv"), timing_csv(d.runs));
}

SweepData load_sweep_dir(const std::string& dir) {
  namespace fs = std::filesystem;
  const std::string jpath = (fs::path(dir) / "sweep.json").string();
  TOY_CHECK(fs::is_directory(dir), "'{}' is not a directory", dir);
  TOY_CHECK(fs::exists(jpath), "'{}' is not a sweep directory (no sweep.json; written by toyformer sweep --out)", dir);
  const nlohmann::json j = read_json_record(jpath);
  SweepData d;
  try {
    TOY_CHECK(j.value("kind", "") == "toyformer-sweep", "not a toyformer sweep file");
    d.config = config_from_json(j.at("config"));
    d.corpus = corpus_from_json(j.at("corpus"));
    d.shard = parse_shard(j.at("shard").get<std::string>());
    d.grid_size = j.at("grid_size").get<int64_t>();
    if (j.contains("merged_from")) d.merged_from = j["merged_from"].get<std::vector<std::string>>();
  } catch (const nlohmann::json::exception& e) {
    fail("{}: {}", jpath, e.what());
  } catch (const Error& e) {
    fail("{}: {}", jpath, e.what());
  }
  const std::string rpath = (fs::path(dir) / "runs.csv").string();
  std::vector<std::string> rows = lines_of(read_file(rpath));
  TOY_CHECK(!rows.empty() && rows[0] == kRunsHeader, "{}: expected the header '{}'", rpath, kRunsHeader);
  std::map<std::pair<int64_t, uint64_t>, size_t> at;
  for (size_t i = 1; i < rows.size(); ++i) {
    const std::string where = fmt::format("{}:{}", rpath, i + 1);
    std::vector<std::string> f = split(rows[i], ',');
    TOY_CHECK(f.size() == 10, "{}: expected 10 fields, got {}", where, f.size());
    RunResult r;
    r.H = to_int(f[0], where);
    r.seed = to_uint(f[1], where);
    r.final_loss = to_float(f[2], where);
    r.final_lr = to_float(f[3], where);
    try {
      r.outcome = parse_outcome(f[4]);
    } catch (const Error& e) {
      fail("{}: {}", where, e.what());
    }
    r.share = f[5] == "nan" ? std::numeric_limits<double>::quiet_NaN() : to_double(f[5], where);
    TOY_CHECK(f[6] == (r.solved() ? "true" : "false"), "{}: solved is '{}' but the outcome is {}", where, f[6], f[4]);
    r.attn_the_to_subject = to_float(f[7], where);
    r.epochs = to_int(f[8], where);
    r.lr_reductions = to_int(f[9], where);
    auto hpos = std::find(d.config.Hs.begin(), d.config.Hs.end(), r.H);
    TOY_CHECK(hpos != d.config.Hs.end() && r.seed >= d.config.seed_start &&
                  r.seed < d.config.seed_start + static_cast<uint64_t>(d.config.seeds),
              "{}: H={} seed {} is outside the sweep's grid", where, r.H, r.seed);
    r.index = (hpos - d.config.Hs.begin()) * d.config.seeds + static_cast<int64_t>(r.seed - d.config.seed_start);
    TOY_CHECK(at.emplace(std::make_pair(r.H, r.seed), d.runs.size()).second, "{}: H={} seed {} appears twice", where,
              r.H, r.seed);
    d.runs.push_back(r);
  }
  const std::string tpath = (fs::path(dir) / "timing.csv").string();
  if (fs::exists(tpath)) {
    std::vector<std::string> trows = lines_of(read_file(tpath));
    TOY_CHECK(!trows.empty() && trows[0] == kTimingHeader, "{}: expected the header '{}'", tpath, kTimingHeader);
    for (size_t i = 1; i < trows.size(); ++i) {
      const std::string where = fmt::format("{}:{}", tpath, i + 1);
      std::vector<std::string> f = split(trows[i], ',');
      TOY_CHECK(f.size() == 4, "{}: expected 4 fields, got {}", where, f.size());
      auto it = at.find({to_int(f[0], where), to_uint(f[1], where)});
      if (it == at.end()) continue;
      d.runs[it->second].seconds = to_double(f[2], where);
      d.runs[it->second].us_per_step = to_double(f[3], where);
    }
  }
  std::sort(d.runs.begin(), d.runs.end(), [](const RunResult& a, const RunResult& b) { return a.index < b.index; });
  return d;
}

SweepData merge_sweeps(const std::vector<std::string>& dirs, std::vector<std::string>* warnings) {
  TOY_CHECK(!dirs.empty(), "sweep merge: no directories given");
  SweepData out;
  std::map<int64_t, std::string> owner;  // grid index -> directory
  nlohmann::json ref_config, ref_corpus;
  for (size_t k = 0; k < dirs.size(); ++k) {
    SweepData d = load_sweep_dir(dirs[k]);
    nlohmann::json cfg = config_to_json(d.config), corpus = corpus_json(d.corpus);
    if (k == 0) {
      out = d;
      out.runs.clear();
      ref_config = cfg;
      ref_corpus = corpus;
    } else {
      std::vector<std::string> diffs;
      for (auto it = ref_config.begin(); it != ref_config.end(); ++it)
        if (cfg.value(it.key(), nlohmann::json()) != it.value())
          diffs.push_back(fmt::format("{} {} vs {}", it.key(), it.value().dump(), cfg.value(it.key(), nlohmann::json()).dump()));
      if (corpus != ref_corpus) diffs.push_back("the corpus differs");
      TOY_CHECK(diffs.empty(), "sweep merge: '{}' was run with another configuration than '{}': {}", dirs[k], dirs[0],
                fmt::join(diffs, "; "));
    }
    for (const RunResult& r : d.runs) {
      auto [it, fresh] = owner.emplace(r.index, dirs[k]);
      TOY_CHECK(fresh, "sweep merge: shards overlap: H={} seed {} is in both '{}' and '{}' (merge each shard once)",
                r.H, r.seed, it->second, dirs[k]);
      out.runs.push_back(r);
    }
    out.merged_from.push_back(dirs[k]);
  }
  std::sort(out.runs.begin(), out.runs.end(), [](const RunResult& a, const RunResult& b) { return a.index < b.index; });
  out.shard = Shard{};
  out.grid_size = static_cast<int64_t>(out.config.Hs.size()) * out.config.seeds;
  const int64_t missing = out.grid_size - static_cast<int64_t>(out.runs.size());
  if (missing > 0 && warnings)
    warnings->push_back(fmt::format("sweep merge: {} of {} grid points have no run (missing shards?); the summary "
                                    "covers the {} present",
                                    missing, out.grid_size, out.runs.size()));
  return out;
}

}  // namespace toy
