// `toyformer sweep --grid`: the axes and their refusals, grid order, sharding and merging with axes, the files of an
// H-only sweep byte for byte as before --grid (tests/fixtures/sweep_main), variant rows equal to `train` alone, the
// path each grid point trained on, and the faceted report.
#include <doctest/doctest.h>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "apps/lib/sweep/sweep.h"
#include "apps/lib/visual/report.h"
#include "apps/lib/visual/svg.h"
#include "core/error.h"
#include "tests/cli_util.h"
#include "tests/text_util.h"

namespace fs = std::filesystem;
using namespace toy;

namespace {

using Run = testing::CliRun;
fs::path scratch() { return testing::scratch_dir("sweep_grid"); }
Run run(const std::string& args) { return testing::run_cli(args, "sweep_grid"); }
using testing::count;
using testing::slurp;

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

std::vector<std::string> fields(const std::string& line) {
  std::vector<std::string> out;
  std::stringstream ss(line);
  for (std::string x; std::getline(ss, x, ',');) out.push_back(x);
  return out;
}

// A sweep with model axes: heads x layers at H=10, 2 seeds (2 of its 4 grid points are variants).
const std::string kGrid = "sweep --H 10 --grid heads=1,2 layers=1,2 --seeds 2 --epochs 150 --quiet";

SweepConfig config_with(const std::vector<std::string>& words) {
  SweepConfig c;
  c.seeds = 2;
  std::vector<GridAxis> axes = parse_grid(words);
  if (std::none_of(axes.begin(), axes.end(), [](const GridAxis& a) { return a.name == "H"; }))
    axes.insert(axes.begin(), GridAxis{"H", {10, 20}});
  set_grid(c, axes);
  return c;
}

}  // namespace

TEST_CASE("sweep/grid-axes: --grid words parse in order with the flags' ranges") {
  const std::vector<GridAxis> g = parse_grid({"H=10,20", "heads=4,1", "norm=layer,none", "pos=false,true", "ffn=0"});
  REQUIRE(g.size() == 5);
  CHECK(g[0] == GridAxis{"H", {10, 20}});
  CHECK(g[1] == GridAxis{"heads", {4, 1}});
  CHECK(g[2] == GridAxis{"norm", {1, 0}});
  CHECK(g[3] == GridAxis{"pos", {0, 1}});
  CHECK(g[4] == GridAxis{"ffn", {0}});
  CHECK(axis_values_text(g[2]) == "layer,none");
  CHECK(axis_values_text(g[3]) == "false,true");
  CHECK(parse_grid({}).empty());
  struct Bad {
    std::string word, says;
  };
  for (const Bad& b : {Bad{"foo=1", "--grid: unknown axis 'foo' (axes: H, heads, layers, ffn, norm, wo, pos, "},
                       Bad{"heads", "--grid: 'heads' is not AXIS=V1,V2,..."}, Bad{"=1", "is not AXIS=V1,V2"},
                       Bad{"heads=", "--grid heads: empty list"},
                       Bad{"heads=1,,2", "--grid heads: '' is not an integer"},
                       Bad{"heads=0", "--grid heads: 0 is outside the valid range [1, 64]"},
                       Bad{"heads=65", "--grid heads: 65 is outside the valid range [1, 64]"},
                       Bad{"layers=17", "--grid layers: 17 is outside the valid range [1, 16]"},
                       Bad{"ffn=4097", "--grid ffn: 4097 is outside the valid range [0, 4096]"},
                       Bad{"H=0", "--grid H: 0 is outside the valid range [1, 1073741824]"},
                       Bad{"H=x", "--grid H: 'x' is not an integer"}, Bad{"heads=1.5", "--grid heads: '1.5'"},
                       Bad{"heads=2,2", "--grid heads: 2 is listed twice"},
                       Bad{"pos=yes", "--grid pos: 'yes' is not true or false"},
                       Bad{"mask=on", "--grid mask: 'on' is not true or false"},
                       Bad{"norm=batch", "--grid norm: 'batch' is not none or layer"}}) {
    CAPTURE(b.word);
    CHECK_THROWS_WITH(parse_grid({b.word}), doctest::Contains(b.says.c_str()));
  }
  CHECK_THROWS_WITH(parse_grid({"heads=1", "layers=2", "heads=2"}),
                    doctest::Contains("--grid: the axis 'heads' is given twice"));
}

TEST_CASE("sweep/grid-axes: grid order is the axes' order, first slowest, then the seeds") {
  // H from --H comes first.
  SweepConfig c = config_with({"heads=2,1", "layers=1,2"});
  CHECK(c.h_axis == 0);
  std::vector<GridPoint> p = grid_points(c);
  REQUIRE(p.size() == 8);
  CHECK(p[0].H == 10);
  CHECK(p[0].arch.heads == 2);
  CHECK(p[0].arch.layers == 1);
  CHECK(p[1].arch.layers == 2);
  CHECK(p[2].arch.heads == 1);
  CHECK(p[4].H == 20);
  CHECK(point_label(c, p[1].arch) == "heads=2 layers=2");
  // H in --grid keeps its place: heads slowest, then H.
  c = config_with({"heads=1,2", "H=40,10"});
  CHECK(c.Hs == std::vector<int64_t>{40, 10});
  CHECK(c.h_axis == 1);
  const std::vector<RunSpec> g = sweep_grid(c);
  REQUIRE(g.size() == 8);
  const int64_t want_H[] = {40, 40, 10, 10, 40, 40, 10, 10}, want_heads[] = {1, 1, 1, 1, 2, 2, 2, 2};
  for (size_t i = 0; i < g.size(); ++i) {
    CAPTURE(i);
    CHECK(g[i].index == static_cast<int64_t>(i));
    CHECK(g[i].H == want_H[i]);
    CHECK(g[i].arch.heads == want_heads[i]);
    CHECK(g[i].seed == 1 + i % 2);
  }
  // The base settings' model under every point; the grid's values override it.
  c = config_with({"layers=1,2"});
  c.arch.ffn = 8;
  c.arch.layers = 3;
  for (const GridPoint& q : grid_points(c)) CHECK(q.arch.ffn == 8);
  CHECK(grid_points(c)[1].arch.layers == 2);
  CHECK(training_path(c, grid_points(c)[0].arch) == "graph stacks");
  // Sharding is unchanged: grid point k goes to shard k % n + 1.
  const std::vector<RunSpec> s2 = shard_of(g, parse_shard("2/3"));
  REQUIRE(s2.size() == 3);
  CHECK(s2[0].index == 1);
  CHECK(s2[1].index == 4);
  CHECK(s2[2].index == 7);
}

TEST_CASE("sweep/grid-axes: the work plan: stacks of one grid point each, most costly first, within the memory") {
  SweepConfig c = config_with({"heads=1,4", "layers=1,2"});
  c.Hs = {10, 40};
  c.seeds = 20;
  const std::vector<RunSpec> runs = sweep_grid(c);
  REQUIRE(runs.size() == 160);
  const std::vector<SweepTask> tasks = plan_tasks(c, runs, 2);
  std::vector<int> seen(runs.size(), 0);
  for (size_t k = 0; k < tasks.size(); ++k) {
    const SweepTask& t = tasks[k];
    REQUIRE(!t.runs.empty());
    for (size_t i : t.runs) ++seen[i];
    if (k > 0) CHECK(tasks[k - 1].cost >= t.cost);  // longest first
    const ToyArch& a = runs[t.runs[0]].arch;
    for (size_t i : t.runs) {  // a stack: runs of one grid point
      CHECK(runs[i].arch == a);
      CHECK(runs[i].H == runs[t.runs[0]].H);
    }
  }
  CHECK(seen == std::vector<int>(runs.size(), 1));
  // A piece of the costliest variant (heads=4 layers=2) comes first (pieces are cut to about equal cost).
  CHECK(runs[tasks[0].runs[0]].arch.heads == 4);
  CHECK(runs[tasks[0].runs[0]].arch.layers == 2);
  // H only: the stacks of before (pieces of whole groups of 8 for 2 threads; max_stack bounds them).
  SweepConfig h;
  h.Hs = {10, 20, 40};
  const std::vector<SweepTask> stacks = plan_tasks(h, sweep_grid(h), 2);
  CHECK(stacks.size() > 6);  // ~8 pieces per thread
  CHECK(std::count_if(stacks.begin(), stacks.end(), [](const SweepTask& t) { return t.runs.size() % 8 != 0; }) <= 3);
  size_t total = 0;
  for (const SweepTask& t : plan_tasks(h, sweep_grid(h), 2, 5)) {
    total += t.runs.size();
    CHECK(t.runs.size() <= 5);
  }
  CHECK(total == 300);
  CHECK(plan_tasks(h, sweep_grid(h), 1).size() == 3);  // one thread: one stack per H
  // A variant with a feed-forward layer and LayerNorm stacks too: one stack per point with one thread.
  SweepConfig f = config_with({"layers=1,2"});
  f.arch.ffn = 8;
  f.arch.norm = true;
  f.Hs = {10};
  f.seeds = 3;
  const std::vector<SweepTask> stacked = plan_tasks(f, sweep_grid(f), 1);
  REQUIRE(stacked.size() == 2);
  for (const SweepTask& t : stacked) CHECK(t.runs.size() == 3);
  // Memory: with 1 GB per model and 4.5 GB for 2 threads, a stack holds at most 2 models (each thread may hold one
  // stack at once); a budget below one model still trains one at a time (check_point refuses such a point first).
  const auto gigabyte = [](const RunSpec&) { return 1e9; };
  size_t n = 0;
  for (const SweepTask& t : plan_tasks(h, sweep_grid(h), 2, 0, gigabyte, 4.5e9)) {
    CHECK(t.runs.size() <= 2);
    n += t.runs.size();
  }
  CHECK(n == 300);
  for (const SweepTask& t : plan_tasks(h, sweep_grid(h), 1, 0, gigabyte, 0.5e9)) CHECK(t.runs.size() == 1);
  CHECK(plan_tasks(h, sweep_grid(h), 1, 0, gigabyte, 1e12).size() == 3);  // room: one stack per H, as before
}

TEST_CASE("sweep/grid-axes: the files' layout, H-only and with axes") {
  SweepConfig h;  // H only, the notebook's model: the layout of every sweep before --grid
  h.Hs = {10};
  CHECK_FALSE(h.grid_layout());
  RunResult r{.H = 10, .seed = 1, .final_loss = 0.5f, .outcome = Outcome::Solved, .share = 0.95};
  r.attn_heads = {0.25f};
  r.attn_the_to_subject = 0.25f;
  CHECK(runs_csv(h, {r}) == runs_csv(std::vector<RunResult>{r}));
  CHECK(lines(runs_csv(h, {r}))[0] ==
        "H,seed,final_loss,final_lr,outcome,share,solved,attn_the_to_subject,epochs,lr_reductions");
  CHECK(lines(timing_csv(h, {r}))[0] == "H,seed,seconds,us_per_step");
  CHECK(summary_csv(h, summarize(h, {r})) == summary_csv(summarize(h, {r})));

  SweepConfig c = config_with({"heads=1,2", "pos=true,false"});
  c.Hs = {10};
  REQUIRE(c.grid_layout());
  RunResult v = r;
  v.arch.heads = 2;
  v.arch.pos = false;
  v.attn_heads = {0.125f, 0.5f};
  v.attn_the_to_subject = 0.5f;
  const std::vector<std::string> runs = lines(runs_csv(c, {r, v}));
  CHECK(runs[0] == "H,heads,pos,seed,final_loss,final_lr,outcome,share,solved,attn_the_to_subject,attn_heads,epochs,"
                   "lr_reductions");
  CHECK(runs[1] == "10,1,true,1,0.5,0,solved,0.95,true,0.25,0.25,0,0");
  CHECK(runs[2] == "10,2,false,1,0.5,0,solved,0.95,true,0.5,0.125 0.5,0,0");
  CHECK(lines(timing_csv(c, {v}))[0] == "H,heads,pos,seed,seconds,us_per_step");
  const std::vector<HSummary> s = summarize(c, {r, v});
  REQUIRE(s.size() == 4);  // one row per grid point, in grid order
  CHECK(s[0].runs == 1);
  CHECK(s[1].runs == 0);  // heads=1 pos=false
  CHECK(s[3].runs == 1);
  const std::vector<std::string> sum = lines(summary_csv(c, s));
  CHECK(sum[0].rfind("H,heads,pos,runs,solved,", 0) == 0);
  CHECK(sum[0].find(",final_loss_q3,path") != std::string::npos);
  CHECK(sum[1].rfind("10,1,true,1,1,1.000000,", 0) == 0);
  CHECK(sum[1].find(",fused stacks") != std::string::npos);
  CHECK(sum[2].find(",graph stacks") != std::string::npos);  // heads=1 pos=false: a variant that stacks
  c.step = "graph";
  CHECK(training_path(c, ToyArch{}) == "graph stacks");
}

TEST_CASE("sweep/grid-cli: refusals name --grid and the axis: one line, exit code 2") {
  const std::string out = " --out " + (scratch() / "never").string();
  struct Bad {
    std::string args, says;
  };
  for (const Bad& b :
       {Bad{"sweep --grid foo=1,2", "--grid: unknown axis 'foo'"}, Bad{"sweep --grid heads=1 heads=2", "given twice"},
        Bad{"sweep --grid heads=", "--grid heads: empty list"},
        Bad{"sweep --grid layers=0", "--grid layers: 0 is outside"},
        Bad{"sweep --grid residual=maybe", "--grid residual: 'maybe' is not true or false"},
        Bad{"sweep --grid H=10 --H 10", "--grid H=...: H is also given as --H"},
        Bad{"sweep --heads 2 --grid heads=1,2", "--grid heads=...: heads is also given as --heads"},
        Bad{"sweep --no-mask --grid mask=true,false", "mask is also given as --no-mask"},
        Bad{"sweep --norm none --grid norm=none,layer", "norm is also given as --norm"},
        Bad{"sweep --step fused --grid heads=1,2", "--step fused: the fused step computes the notebook's model only"},
        Bad{"sweep --grid heads=1,64 H=1073741824", "sweep: the grid point H=1073741824 heads=1 needs about"}}) {
    CAPTURE(b.args);
    testing::check_refused(run(b.args + out), {b.says});
  }
  CHECK(!fs::exists(scratch() / "never"));
  // --grid takes the next word even when it is a flag: the message says what it got.
  const Run r = run("sweep --grid --out " + (scratch() / "never").string());
  CHECK(r.code == 2);
  CHECK(r.err.find("--grid: '--out' is not AXIS=V1,V2") != std::string::npos);
  const Run help = run("sweep --help");
  CHECK(help.out.find("--grid") != std::string::npos);
  CHECK(help.out.find("true|false") != std::string::npos);
  CHECK(help.out.find("strongest evidence head") != std::string::npos);
}

TEST_CASE("sweep/grid-cli: an H-only sweep writes main's files byte for byte (tests/fixtures/sweep_main)") {
  const fs::path d = scratch(), fx = fs::path(TOY_FIXTURES_DIR) / "sweep_main";
  struct Case {
    std::string name, args;
  };
  for (const Case& c : {Case{"notebook_two_h", "--H 40,10 --seeds 4 --epochs 5020"},
                        Case{"notebook_two_h", "--grid H=40,10 --seeds 4 --epochs 5020"},
                        Case{"adam_shard", "--H 20 --seeds 5 --seed-start 7 --epochs 300 --optimizer adam --early-stop "
                                           "20 --batch 1 --shard 2/3"}}) {
    CAPTURE(c.args);
    const fs::path out = d / fmt::format("main_{}", std::hash<std::string>{}(c.args));
    REQUIRE(run("sweep --quiet " + c.args + " --out " + out.string()).code == 0);
    for (const char* f :
         {"runs.csv", "summary.csv", "sweep.json", "report.html", "final_loss.svg", "outcome_rate.svg"}) {
      CAPTURE(f);
      const std::string want = slurp(fx / c.name / f);
      REQUIRE(!want.empty());
      CHECK(slurp(out / f) == want);
    }
    // timing.csv: main's header and rows (H, seed) in runs.csv's order; the seconds differ from run to run.
    const std::vector<std::string> timing = lines(slurp(out / "timing.csv")), runs = lines(slurp(out / "runs.csv"));
    REQUIRE(timing.size() == runs.size());
    CHECK(timing[0] == "H,seed,seconds,us_per_step");
    for (size_t i = 1; i < runs.size(); ++i) {
      const std::vector<std::string> t = fields(timing[i]), r = fields(runs[i]);
      CHECK(t.size() == 4);
      CHECK(t[0] + "," + t[1] == r[0] + "," + r[1]);
    }
  }
}

TEST_CASE("sweep/grid-cli: every row equals `train` alone with its flags (variants on the graph step)") {
  const fs::path d = scratch();
  // heads x layers at H=10 (the notebook's model at heads=1 layers=1); then a variant base (--ffn 8, --batch 1: the
  // whole-corpus evaluation model) under norm x pos.
  struct Sweep {
    std::string args, dir;
  };
  for (const Sweep& s : {Sweep{kGrid, "rows_a"},
                         Sweep{"sweep --H 20 --ffn 8 --batch 1 --grid norm=layer,none pos=false,true --seeds 1 "
                               "--seed-start 3 --epochs 100 --quiet",
                               "rows_b"}}) {
    CAPTURE(s.args);
    REQUIRE(run(s.args + " --out " + (d / s.dir).string()).code == 0);
    const SweepData sd = load_sweep_dir((d / s.dir).string());
    REQUIRE(sd.runs.size() == (s.dir == "rows_a" ? 8u : 4u));
    for (const RunResult& r : sd.runs) {
      // Every row for the 4-point sweep; every other one of the 8 (both seeds of a point are alike).
      if (s.dir == "rows_a" && r.index % 3 != 0) continue;
      const ToyArch& a = r.arch;
      const std::string flags = fmt::format(
          "train --H {} --seed {} --epochs {} --batch {} --heads {} --layers {} --ffn {} --norm {}{} --json", r.H,
          r.seed, sd.config.epochs, sd.config.batch, a.heads, a.layers, a.ffn, a.norm ? "layer" : "none",
          a.pos ? "" : " --no-pos");
      CAPTURE(flags);
      const Run t = run(flags);
      REQUIRE(t.code == 0);
      const auto j = nlohmann::json::parse(t.out);
      CHECK(j["final_loss"].get<float>() == r.final_loss);  // bit for bit
      CHECK(j["final_lr"].get<float>() == r.final_lr);
      CHECK(j["outcome"].get<std::string>() == outcome_name(r.outcome));
      CHECK(j["share"].get<double>() == r.share);
      CHECK(j["epochs"].get<int64_t>() == r.epochs);
      // attn_heads: one value per (block, head); attn_the_to_subject is their maximum.
      REQUIRE(static_cast<int64_t>(r.attn_heads.size()) == a.layers * a.heads);
      CHECK(r.attn_the_to_subject == *std::max_element(r.attn_heads.begin(), r.attn_heads.end()));
    }
  }
}

TEST_CASE("sweep/grid-cli: path per grid point, printed and in summary.csv, the same files for any --jobs") {
  const fs::path d = scratch();
  const Run a = run(kGrid + " --jobs 2 --out " + (d / "j2").string());
  REQUIRE(a.code == 0);
  REQUIRE(run(kGrid + " --jobs 1 --out " + (d / "j1").string()).code == 0);
  for (const char* f :
       {"runs.csv", "summary.csv", "sweep.json", "report.html", "final_loss.svg", "outcome_rate.svg"}) {
    CAPTURE(f);
    CHECK(slurp(d / "j1" / f) == slurp(d / "j2" / f));
  }
  CHECK(a.out.find("8 runs: H 10 x heads 1,2 x layers 1,2 x seeds 1..2") != std::string::npos);
  CHECK(a.out.find("    H heads layers  runs") != std::string::npos);
  CHECK(a.out.find("path: fused stacks (1 grid point: the notebook's model") != std::string::npos);
  CHECK(a.out.find("graph stacks (3 grid points: its seeds train as stacks") != std::string::npos);
  const std::vector<std::string> sum = lines(slurp(d / "j2" / "summary.csv"));
  REQUIRE(sum.size() == 5);
  CHECK(sum[0].rfind("H,heads,layers,runs,", 0) == 0);
  CHECK(fields(sum[1]).back() == "fused stacks");
  for (int i = 2; i <= 4; ++i) CHECK(fields(sum[static_cast<size_t>(i)]).back() == "graph stacks");
  // runs.csv: the axes after H, the grid's order, attn_heads per (block, head).
  const std::vector<std::string> runs = lines(slurp(d / "j2" / "runs.csv"));
  REQUIRE(runs.size() == 9);
  const std::string order[] = {"10,1,1,1,", "10,1,1,2,", "10,1,2,1,", "10,1,2,2,",
                               "10,2,1,1,", "10,2,1,2,", "10,2,2,1,", "10,2,2,2,"};
  for (size_t i = 0; i < 8; ++i) CHECK(runs[i + 1].rfind(order[i], 0) == 0);
  CHECK(count(fields(runs[8])[10], " ") == 3);  // heads=2 layers=2: 4 values
  // The notebook's model on --step graph: stacks on the graph step.
  const Run g = run("sweep --H 10 --grid heads=1 --seeds 2 --epochs 20 --step graph --quiet --out " +
                    (d / "graph").string());
  REQUIRE(g.code == 0);
  CHECK(fields(lines(slurp(d / "graph" / "summary.csv"))[1]).back() == "graph stacks");
}

TEST_CASE("sweep/grid-cli: shard + merge with axes equals the unsharded sweep, merge refuses other grids") {
  const fs::path d = scratch();
  REQUIRE(run(kGrid + " --out " + (d / "full").string()).code == 0);
  for (int i = 1; i <= 3; ++i)
    REQUIRE(run(kGrid + fmt::format(" --shard {}/3 --out ", i) + (d / fmt::format("s{}", i)).string()).code == 0);
  // Shard 2/3: grid points 1, 4, 7 (heads=1 layers=1 seed 2, heads=2 layers=1 seed 1, heads=2 layers=2 seed 2).
  const std::vector<std::string> s2 = lines(slurp(d / "s2" / "runs.csv"));
  REQUIRE(s2.size() == 4);
  CHECK(s2[1].rfind("10,1,1,2,", 0) == 0);
  CHECK(s2[2].rfind("10,2,1,1,", 0) == 0);
  CHECK(s2[3].rfind("10,2,2,2,", 0) == 0);
  const Run m = run("sweep merge " + (d / "s3").string() + " " + (d / "s1").string() + " " + (d / "s2").string() +
                    " --out " + (d / "merged").string());
  CAPTURE(m.err);
  REQUIRE(m.code == 0);
  for (const char* f : {"runs.csv", "summary.csv", "final_loss.svg", "outcome_rate.svg"}) {
    CAPTURE(f);
    CHECK(slurp(d / "merged" / f) == slurp(d / "full" / f));
  }
  auto full = nlohmann::json::parse(slurp(d / "full" / "sweep.json")),
       merged = nlohmann::json::parse(slurp(d / "merged" / "sweep.json"));
  CHECK(merged["config"] == full["config"]);
  CHECK(merged["grid_size"] == 8);
  // timing.csv reads back into the runs of its grid point.
  const SweepData sd = load_sweep_dir((d / "merged").string());
  CHECK(std::all_of(sd.runs.begin(), sd.runs.end(), [](const RunResult& r) { return r.seconds > 0; }));
  // Shards of other grids: other values on an axis, another axis, no axis at all.
  REQUIRE(run("sweep --H 10 --grid heads=1,4 layers=1,2 --seeds 2 --epochs 150 --quiet --shard 2/3 --out " +
              (d / "other").string()).code == 0);
  REQUIRE(run("sweep --H 10 --seeds 2 --epochs 150 --quiet --shard 2/3 --out " + (d / "h_only").string()).code == 0);
  for (const char* other : {"other", "h_only"})
    for (bool first : {false, true}) {  // a key in one configuration only is a difference either way round
      CAPTURE(other);
      CAPTURE(first);
      const std::string a = (d / (first ? other : "s1")).string(), b = (d / (first ? "s1" : other)).string();
      const Run r = run("sweep merge " + a + " " + b + " --out " + (d / "never").string());
      CHECK(r.code == 2);
      CHECK(r.err.find("another configuration") != std::string::npos);
      CHECK(r.err.find("grid ") != std::string::npos);
    }
  CHECK(!fs::exists(d / "never"));
  const Run twice = run("sweep merge " + (d / "s2").string() + " " + (d / "s2").string() + " --out " +
                        (d / "never").string());
  CHECK(twice.err.find("shards overlap: H=10 heads=1 layers=1 seed 2 is in both") != std::string::npos);
}

TEST_CASE("svg/small multiples: panels on a grid under a title, box strips on one shared y axis") {
  svg::Distribution low, high;
  low.log_y = high.log_y = false;
  low.title = "low <panel>";
  high.title = "high";
  low.groups = {svg::Group{"H=10", {0.20, 0.22, 0.25}, {}, {}}};
  high.groups = {svg::Group{"H=10", {0.80, 0.82, 0.85}, {}, {}}};
  const std::string alone = svg::box_strip(low);
  CHECK(alone.find(">0.8</text>") == std::string::npos);  // its own range: 0.2 .. 0.25
  const std::string grid = svg::box_strip_grid({low, high, high}, 2, "final loss & more");
  CHECK(toy::testing::xml_problem(grid) == "");
  CHECK(count(grid, "<svg") == 1);
  CHECK(count(grid, "class=\"panel\"") == 3);
  CHECK(count(grid, ">0.8</text>") == 3);  // every panel spans 0.2 .. 0.85
  CHECK(count(grid, ">0.2</text>") == 3);
  CHECK(grid.find("final loss &amp; more") != std::string::npos);
  CHECK(grid.find("low &lt;panel&gt;") != std::string::npos);
  CHECK(grid.find("translate(0,") != std::string::npos);  // the third panel starts the second row
  // Without a title, the panels start at the top; one svg per call either way.
  svg::RatePlot p;
  p.series = {"solved"};
  p.groups = {{"H=10", {{1, 2, 0.1, 0.9}}}};
  const std::string rates = svg::rate_plot_grid({p, p}, 4, "");
  CHECK(toy::testing::xml_problem(rates) == "");
  CHECK(count(rates, "class=\"rate\"") == 2);
  CHECK(rates.find("translate(0,0)") != std::string::npos);
  CHECK_THROWS_WITH(svg::rate_plot_grid({p}, 0, ""), doctest::Contains("columns"));
}

TEST_CASE("report/sweep-grid: small multiples per model variant, H across, and `report` reads the directory back") {
  const fs::path d = scratch();
  REQUIRE(run(kGrid + " --out " + (d / "rep").string()).code == 0);
  const std::string html = slurp(d / "rep" / "report.html");
  // `toyformer report DIR` rebuilds the page from the files: the grid layout reads back.
  const Run r = run("report " + (d / "rep").string() + " -o " + (d / "rep.html").string());
  REQUIRE(r.code == 0);
  CHECK(slurp(d / "rep.html") == html);
  for (const char* s : {"toyformer sweep: H 10 \u00d7 heads 1, 2 \u00d7 layers 1, 2 &times; 2 seeds",
                        "final loss per H, one panel per heads \u00d7 layers",
                        "outcomes per H, one panel per heads \u00d7 layers", "<th>path</th>", "graph stacks",
                        "attention per head", "strongest evidence head", "H=10 heads=2 layers=1 seed 2: final loss",
                        "<th>grid order</th><td>H 10, then heads 1,2, then layers 1,2, then seeds</td>"}) {
    CAPTURE(s);
    CHECK(html.find(s) != std::string::npos);
  }
  for (const char* f : {"final_loss.svg", "outcome_rate.svg"}) {
    CAPTURE(f);
    const std::string svg = slurp(d / "rep" / f);
    CHECK(toy::testing::xml_problem(svg) == "");
    CHECK(count(svg, "class=\"panel\"") == 4);  // heads x layers
    for (const char* title : {">heads=1 layers=1</text>", ">heads=1 layers=2</text>", ">heads=2 layers=1</text>",
                              ">heads=2 layers=2</text>"})
      CHECK(svg.find(title) != std::string::npos);
    CHECK(count(svg, ">H=10</text>") == 4);  // H across every panel
  }
  // Every rate panel draws the Wilson interval of each outcome: 3 per panel.
  CHECK(count(slurp(d / "rep" / "outcome_rate.svg"), "class=\"rate\"") == 12);
  // The loss panels share one y axis: the same tick labels in each.
  const std::string loss = slurp(d / "rep" / "final_loss.svg");
  CHECK(count(loss, "class=\"box\"") == 4);
  // The page's inline figures are well-formed too.
  for (size_t p = html.find("<svg"); p != std::string::npos; p = html.find("<svg", p + 1)) {
    const size_t e = html.find("</svg>", p);
    REQUIRE(e != std::string::npos);
    CHECK(toy::testing::xml_problem(html.substr(p, e + 6 - p)) == "");
  }
  CHECK(html.find("http") == std::string::npos);
}
