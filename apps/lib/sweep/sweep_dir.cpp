// The sweep directory's tables and record: runs.csv, summary.csv, timing.csv, sweep.json, the printed summary, and
// reading and merging directories (the figures and the report: apps/lib/visual/report.h).
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <map>
#include <set>
#include <sstream>

#include "apps/lib/formats/fs_util.h"
#include "apps/lib/formats/json_limits.h"
#include "apps/lib/sweep/sweep.h"
#include "apps/lib/training/run_record.h"
#include "core/error.h"

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

// --- the grid layout's columns -----------------------------------------------------------------------------------

// "H,heads,layers" (H, then the model axes in grid order): the key columns of every table.
std::string key_header(const SweepConfig& c) {
  std::string s = "H";
  for (const GridAxis& a : c.axes) s += fmt::format(",{}", a.name);
  return s;
}

// "20,2,1": a run's key columns (H and its model's values on the model axes).
std::string key_cells(const SweepConfig& c, int64_t H, const ToyArch& arch) {
  std::string s = fmt::format("{}", H);
  for (const GridAxis& a : c.axes) s += fmt::format(",{}", axis_value_text(a.name, axis_value(a.name, H, arch)));
  return s;
}

std::string runs_header(const SweepConfig& c) {
  if (!c.grid_layout()) return kRunsHeader;
  return key_header(c) + ",seed,final_loss,final_lr,outcome,share,solved,attn_the_to_subject,attn_heads,epochs,"
                         "lr_reductions";
}

std::string timing_header(const SweepConfig& c) {
  return c.grid_layout() ? key_header(c) + ",seed,seconds,us_per_step" : kTimingHeader;
}

// "0.51 0.03 0.97": attn_heads in runs.csv (space-separated: a CSV field without quotes).
std::string heads_cell(const std::vector<float>& v) {
  std::vector<std::string> texts;
  for (float x : v) texts.push_back(fnum(x));
  return fmt::format("{}", fmt::join(texts, " "));
}

std::vector<float> parse_heads_cell(const std::string& s, const std::string& where) {
  std::vector<float> out;
  for (const std::string& t : split(s, ' ')) out.push_back(to_float(t, where));
  return out;
}

// "H=20 heads=2 seed 3": a run in messages.
std::string run_label(const SweepConfig& c, int64_t H, const ToyArch& arch, uint64_t seed) {
  const std::string p = point_label(c, arch);
  return fmt::format("H={}{}{} seed {}", H, p.empty() ? "" : " ", p, seed);
}

// The grid points by their key (H, then the model axes' values) -> their place in grid order.
std::map<std::vector<int64_t>, int64_t> point_index(const SweepConfig& c) {
  std::map<std::vector<int64_t>, int64_t> at;
  const std::vector<GridPoint> points = grid_points(c);
  for (size_t k = 0; k < points.size(); ++k) {
    std::vector<int64_t> key{points[k].H};
    for (const GridAxis& a : c.axes) key.push_back(axis_value(a.name, points[k].H, points[k].arch));
    at.emplace(key, static_cast<int64_t>(k));
  }
  return at;
}

// A row's key columns read back: its H and model (the base arch with the row's axis values), and the row's place in
// the grid (-1 when the point is not one of the grid's).
struct RowKey {
  int64_t H = 0;
  ToyArch arch;
  int64_t point = -1;
};
RowKey parse_key(const SweepConfig& c, const std::vector<std::string>& f, const std::string& where,
                 const std::map<std::vector<int64_t>, int64_t>& points) {
  RowKey k;
  k.H = to_int(f[0], where);
  k.arch = c.arch;
  std::vector<int64_t> key{k.H};
  for (size_t i = 0; i < c.axes.size(); ++i) {
    int64_t v = 0;
    try {
      v = parse_axis_value(c.axes[i].name, f[1 + i], "column");
    } catch (const Error& e) {
      fail("{}: {}", where, e.what());
    }
    key.push_back(v);
    set_axis(c.axes[i].name, v, k.H, k.arch);
  }
  auto it = points.find(key);
  if (it != points.end()) k.point = it->second;
  return k;
}

// --- sweep.json's config -----------------------------------------------------------------------------------------

nlohmann::json axis_value_json(const std::string& axis, int64_t v) {
  if (is_boolean_axis(axis)) return v != 0;
  if (axis == "norm") return axis_value_text(axis, v);
  return v;
}

int64_t axis_value_from_json(const std::string& axis, const nlohmann::json& v) {
  if (is_boolean_axis(axis)) return v.get<bool>();
  if (axis == "norm") return parse_axis_value(axis, v.get<std::string>(), "'grid'");
  TOY_CHECK(v.is_number_integer(), "'grid' {}: {} is not an integer", axis, v.dump());
  return v.get<int64_t>();
}

// "grid": [{"axis": "H", "values": [10, 20]}, {"axis": "heads", "values": [1, 2]}] in grid order (values as the
// settings hold them: numbers, booleans, "none"/"layer"). Written only with model axes.
nlohmann::json grid_json(const SweepConfig& c) {
  nlohmann::json g = nlohmann::json::array();
  for (const GridAxis& a : grid_axes(c)) {
    nlohmann::json values = nlohmann::json::array();
    for (int64_t v : a.values) values.push_back(axis_value_json(a.name, v));
    g.push_back({{"axis", a.name}, {"values", values}});
  }
  return g;
}

void grid_from_json(const nlohmann::json& g, SweepConfig& c) {
  TOY_CHECK(g.is_array(), "'grid': expected an array of {{\"axis\", \"values\"}}");
  std::vector<GridAxis> axes;
  for (const nlohmann::json& a : g) {
    GridAxis axis{a.at("axis").get<std::string>(), {}};
    const auto& names = grid_axis_names();
    TOY_CHECK(std::find(names.begin(), names.end(), axis.name) != names.end(), "'grid': unknown axis '{}' (axes: {})",
              axis.name, fmt::join(names, ", "));
    for (const nlohmann::json& v : a.at("values")) axis.values.push_back(axis_value_from_json(axis.name, v));
    check_axis(axis, "'grid'");
    for (const GridAxis& b : axes) TOY_CHECK(b.name != axis.name, "'grid': the axis '{}' is given twice", axis.name);
    axes.push_back(std::move(axis));
  }
  const std::vector<int64_t> hs = c.Hs;
  TOY_CHECK(std::any_of(axes.begin(), axes.end(), [](const GridAxis& a) { return a.name == "H"; }),
            "'grid': no H axis");
  set_grid(c, axes);
  (void)grid_point_count(c);  // refuses a grid too large to list
  TOY_CHECK(c.Hs == hs, "'grid': its H axis ({}) is not 'H' ({})", fmt::join(c.Hs, ","), fmt::join(hs, ","));
}

// sweep.json's "config": the training settings' own mapping (apps/lib/training/settings.h) plus the grid and the
// threshold.
nlohmann::json config_to_json(const SweepConfig& c) {
  nlohmann::json j = static_cast<const TrainSettings&>(c);
  j["H"] = c.Hs;
  if (!c.axes.empty()) j["grid"] = grid_json(c);
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
  if (j.contains("grid")) grid_from_json(j.at("grid"), c);
  c.seeds = j.at("seeds").get<int64_t>();
  c.seed_start = j.at("seed_start").get<uint64_t>();
  c.corpus_source = j.value("corpus_source", std::string("notebook"));
  c.solved_share = j.at("solved_share").get<double>();
  return c;
}

// "fused stacks (3 grid points: ...); graph stacks (15 grid points: ...)": the printed path line.
std::string paths_text(const SweepConfig& c) {
  std::vector<std::pair<std::string, int64_t>> paths;  // in order of first appearance
  for (const GridPoint& p : grid_points(c)) {
    const std::string path = training_path(c, p.arch);
    auto it = std::find_if(paths.begin(), paths.end(), [&](const auto& q) { return q.first == path; });
    if (it == paths.end()) paths.push_back({path, 1});
    else ++it->second;
  }
  auto why = [](const std::string& path) {
    return path == "fused stacks" ? "the notebook's model: its seeds train as stacks of models on one fused step"
                                  : "its seeds train as stacks of models on the graph step";
  };
  std::string s;
  for (const auto& [path, n] : paths)
    s += fmt::format("{}{} ({} grid point{}: {})", s.empty() ? "" : "; ", path, n, n == 1 ? "" : "s", why(path));
  return s;
}

}  // namespace

// --- the tables ----------------------------------------------------------------------------------------------------

std::string runs_csv(const std::vector<RunResult>& runs) {
  std::string s = std::string(kRunsHeader) + "\n";
  for (const RunResult& r : runs)
    s += fmt::format("{},{},{},{},{},{},{},{},{},{}\n", r.H, r.seed, fnum(r.final_loss), fnum(r.final_lr),
                     outcome_name(r.outcome), dnum(r.share), r.solved() ? "true" : "false",
                     fnum(r.attn_the_to_subject), r.epochs, r.lr_reductions);
  return s;
}

std::string runs_csv(const SweepConfig& c, const std::vector<RunResult>& runs) {
  if (!c.grid_layout()) return runs_csv(runs);
  std::string s = runs_header(c) + "\n";
  for (const RunResult& r : runs)
    s += fmt::format("{},{},{},{},{},{},{},{},{},{},{}\n", key_cells(c, r.H, r.arch), r.seed, fnum(r.final_loss),
                     fnum(r.final_lr), outcome_name(r.outcome), dnum(r.share), r.solved() ? "true" : "false",
                     fnum(r.attn_the_to_subject), heads_cell(r.attn_heads), r.epochs, r.lr_reductions);
  return s;
}

std::string timing_csv(const std::vector<RunResult>& runs) {
  std::string s = std::string(kTimingHeader) + "\n";
  for (const RunResult& r : runs) s += fmt::format("{},{},{:.6f},{:.4f}\n", r.H, r.seed, r.seconds, r.us_per_step);
  return s;
}

std::string timing_csv(const SweepConfig& c, const std::vector<RunResult>& runs) {
  if (!c.grid_layout()) return timing_csv(runs);
  std::string s = timing_header(c) + "\n";
  for (const RunResult& r : runs)
    s += fmt::format("{},{},{:.6f},{:.4f}\n", key_cells(c, r.H, r.arch), r.seed, r.seconds, r.us_per_step);
  return s;
}

namespace {

std::string summary_header() {
  std::string s = ",runs";
  for (const char* o : {"solved", "stuck", "unfinished"})
    s += fmt::format(",{0},{0}_rate,{0}_rate_lo95,{0}_rate_hi95", o);
  return s + ",final_loss_median,final_loss_q1,final_loss_q3";
}

// A summary row's numbers, after its key columns: ",runs,...,final_loss_q3".
std::string summary_cells(const HSummary& h) {
  std::string s = fmt::format(",{}", h.runs);
  for (const OutcomeCount* o : {&h.solved, &h.stuck, &h.unfinished})
    s += fmt::format(",{},{:.6f},{:.6f},{:.6f}", o->k, o->rate, o->ci.lo, o->ci.hi);
  return s + fmt::format(",{:.6g},{:.6g},{:.6g}", h.loss_median, h.loss_q1, h.loss_q3);
}

}  // namespace

std::string summary_csv(const std::vector<HSummary>& rows) {
  std::string s = fmt::format("H{}\n", summary_header());
  for (const HSummary& h : rows) s += fmt::format("{}{}\n", h.H, summary_cells(h));
  return s;
}

std::string summary_csv(const SweepConfig& c, const std::vector<HSummary>& rows) {
  if (!c.grid_layout()) return summary_csv(rows);
  std::string s = key_header(c) + summary_header() + ",path\n";
  for (const HSummary& h : rows)
    s += fmt::format("{}{},{}\n", key_cells(c, h.H, h.arch), summary_cells(h), training_path(c, h.arch));
  return s;
}

std::string summary_table(const SweepData& d) {
  const SweepConfig& c = d.config;
  std::vector<std::string> axes;
  for (const GridAxis& a : grid_axes(c)) axes.push_back(a.name + " " + axis_values_text(a));
  std::string s = fmt::format("{} runs: {} x seeds {}..{}{}, {} epochs, {} loss, {}{}{}\n", d.runs.size(),
                              fmt::join(axes, " x "), c.seed_start, c.seed_start + static_cast<uint64_t>(c.seeds) - 1,
                              d.shard.count > 1 ? fmt::format(" (shard {})", d.shard.str()) : "", c.epochs, c.loss,
                              c.optimizer, c.plateau ? " + ReduceLROnPlateau" : "",
                              c.arch.notebook() ? "" : ", model " + c.arch.describe());
  // The key columns: H, then each model axis as wide as its name or its widest value.
  std::vector<size_t> width;
  for (const GridAxis& a : c.axes) {
    size_t w = std::max<size_t>(5, a.name.size());
    for (int64_t v : a.values) w = std::max(w, axis_value_text(a.name, v).size());
    width.push_back(w);
  }
  auto key = [&](const std::string& H, const std::vector<std::string>& values) {
    std::string k = fmt::format("{:>5}", H);
    for (size_t i = 0; i < values.size(); ++i) k += fmt::format(" {:>{}}", values[i], width[i]);
    return k;
  };
  std::vector<std::string> names;
  for (const GridAxis& a : c.axes) names.push_back(a.name);
  // Each outcome: count, rate and its 95% Wilson interval.
  s += fmt::format("{} {:>5}   {:<22}   {:<22}   {:<22} {:>9}{}\n", key("H", names), "runs", "solved", "stuck",
                   "unfinished", "loss med", c.grid_layout() ? "  path" : "");
  auto cell = [](const OutcomeCount& o) {
    return fmt::format("{:>3} {:>5.1f}% [{:>3.0f}-{:>3.0f}%]", o.k, 100 * o.rate, 100 * o.ci.lo, 100 * o.ci.hi);
  };
  for (const HSummary& h : summarize(c, d.runs)) {
    std::vector<std::string> values;
    for (const GridAxis& a : c.axes) values.push_back(axis_value_text(a.name, axis_value(a.name, h.H, h.arch)));
    s += fmt::format("{} {:>5}   {:<22}   {:<22}   {:<22} {:>9.4f}{}\n", key(fmt::format("{}", h.H), values), h.runs,
                     cell(h.solved), cell(h.stuck), cell(h.unfinished), h.loss_median,
                     c.grid_layout() ? "  " + training_path(c, h.arch) : "");
  }
  s += fmt::format("(count, rate, 95% Wilson interval) solved: share >= {:g} at every judged position; stuck: not "
                   "solved, no longer improving; unfinished: not solved, still improving\n",
                   c.solved_share);
  s += "path: " + paths_text(c) + "\n";
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
  write_file_atomic(path("runs.csv"), runs_csv(d.config, d.runs));
  write_file_atomic(path("summary.csv"), summary_csv(d.config, summarize(d.config, d.runs)));
  write_file_atomic(path("timing.csv"), timing_csv(d.config, d.runs));
}

// --- reading and merging -------------------------------------------------------------------------------------------

namespace {

// runs.csv's rows, each checked and placed in the grid; `at` maps a grid index to its place in d.runs.
void read_runs(const std::string& rpath, SweepData& d, std::map<int64_t, size_t>& at) {
  const SweepConfig& c = d.config;
  const bool grid = c.grid_layout();
  const std::string header = runs_header(c);
  std::vector<std::string> rows = lines_of(read_file(rpath));
  TOY_CHECK(!rows.empty() && rows[0] == header, "{}: expected the header '{}'", rpath, header);
  const auto points = point_index(c);
  const size_t keys = 1 + c.axes.size(), fields = keys + (grid ? 10 : 9);
  for (size_t i = 1; i < rows.size(); ++i) {
    const std::string where = fmt::format("{}:{}", rpath, i + 1);
    std::vector<std::string> f = split(rows[i], ',');
    TOY_CHECK(f.size() == fields, "{}: expected {} fields, got {}", where, fields, f.size());
    const RowKey k = parse_key(c, f, where, points);
    RunResult r;
    r.H = k.H;
    r.arch = k.arch;
    size_t n = keys;
    r.seed = to_uint(f[n++], where);
    r.final_loss = to_float(f[n++], where);
    r.final_lr = to_float(f[n++], where);
    try {
      r.outcome = parse_outcome(f[n]);
    } catch (const Error& e) {
      fail("{}: {}", where, e.what());
    }
    const std::string& outcome = f[n++];
    r.share = f[n] == "nan" ? std::numeric_limits<double>::quiet_NaN() : to_double(f[n], where);
    ++n;
    TOY_CHECK(f[n] == (r.solved() ? "true" : "false"), "{}: solved is '{}' but the outcome is {}", where, f[n],
              outcome);
    ++n;
    r.attn_the_to_subject = to_float(f[n++], where);
    if (grid) {
      r.attn_heads = parse_heads_cell(f[n++], where);
      TOY_CHECK(static_cast<int64_t>(r.attn_heads.size()) == r.arch.layers * r.arch.heads,
                "{}: attn_heads holds {} values, the model has {} blocks x {} heads", where, r.attn_heads.size(),
                r.arch.layers, r.arch.heads);
    }
    r.epochs = to_int(f[n++], where);
    r.lr_reductions = to_int(f[n++], where);
    const std::string label = run_label(c, r.H, r.arch, r.seed);
    TOY_CHECK(k.point >= 0 && r.seed >= c.seed_start && r.seed < c.seed_start + static_cast<uint64_t>(c.seeds),
              "{}: {} is outside the sweep's grid", where, label);
    r.index = k.point * c.seeds + static_cast<int64_t>(r.seed - c.seed_start);
    TOY_CHECK(at.emplace(r.index, d.runs.size()).second, "{}: {} appears twice", where, label);
    d.runs.push_back(r);
  }
}

// timing.csv's seconds into the runs it names (rows of runs not in runs.csv are ignored).
void read_timing(const std::string& tpath, SweepData& d, const std::map<int64_t, size_t>& at) {
  const SweepConfig& c = d.config;
  const std::string header = timing_header(c);
  std::vector<std::string> trows = lines_of(read_file(tpath));
  TOY_CHECK(!trows.empty() && trows[0] == header, "{}: expected the header '{}'", tpath, header);
  const auto points = point_index(c);
  const size_t keys = 1 + c.axes.size();
  for (size_t i = 1; i < trows.size(); ++i) {
    const std::string where = fmt::format("{}:{}", tpath, i + 1);
    std::vector<std::string> f = split(trows[i], ',');
    TOY_CHECK(f.size() == keys + 3, "{}: expected {} fields, got {}", where, keys + 3, f.size());
    const RowKey k = parse_key(c, f, where, points);
    const uint64_t seed = to_uint(f[keys], where);
    if (k.point < 0 || seed < c.seed_start || seed - c.seed_start >= static_cast<uint64_t>(c.seeds)) continue;
    auto it = at.find(k.point * c.seeds + static_cast<int64_t>(seed - c.seed_start));
    if (it == at.end()) continue;
    d.runs[it->second].seconds = to_double(f[keys + 1], where);
    d.runs[it->second].us_per_step = to_double(f[keys + 2], where);
  }
}

}  // namespace

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
  std::map<int64_t, size_t> at;  // grid index -> its place in d.runs
  read_runs((fs::path(dir) / "runs.csv").string(), d, at);
  const std::string tpath = (fs::path(dir) / "timing.csv").string();
  if (fs::exists(tpath)) read_timing(tpath, d, at);
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
      // Every key of either configuration (a grid or a variant's model keys may be in one only).
      std::set<std::string> keys;
      for (auto it = ref_config.begin(); it != ref_config.end(); ++it) keys.insert(it.key());
      for (auto it = cfg.begin(); it != cfg.end(); ++it) keys.insert(it.key());
      std::vector<std::string> diffs;
      for (const std::string& key : keys) {
        const nlohmann::json a = ref_config.value(key, nlohmann::json()), b = cfg.value(key, nlohmann::json());
        if (a != b) diffs.push_back(fmt::format("{} {} vs {}", key, a.dump(), b.dump()));
      }
      if (corpus != ref_corpus) diffs.push_back("the corpus differs");
      TOY_CHECK(diffs.empty(), "sweep merge: '{}' was run with another configuration than '{}': {}", dirs[k], dirs[0],
                fmt::join(diffs, "; "));
    }
    for (const RunResult& r : d.runs) {
      auto [it, fresh] = owner.emplace(r.index, dirs[k]);
      TOY_CHECK(fresh, "sweep merge: shards overlap: {} is in both '{}' and '{}' (merge each shard once)",
                run_label(d.config, r.H, r.arch, r.seed), it->second, dirs[k]);
      out.runs.push_back(r);
    }
    out.merged_from.push_back(dirs[k]);
  }
  std::sort(out.runs.begin(), out.runs.end(), [](const RunResult& a, const RunResult& b) { return a.index < b.index; });
  out.shard = Shard{};
  out.grid_size = static_cast<int64_t>(grid_points(out.config).size()) * out.config.seeds;
  const int64_t missing = out.grid_size - static_cast<int64_t>(out.runs.size());
  if (missing > 0 && warnings)
    warnings->push_back(fmt::format("sweep merge: {} of {} grid points have no run (missing shards?); the summary "
                                    "covers the {} present",
                                    missing, out.grid_size, out.runs.size()));
  return out;
}

}  // namespace toy
