// `toyformer sweep`: the grid and its shards, the statistics (Wilson interval, quartiles), byte-identical CSVs for
// the same arguments, shard + merge == the unsharded sweep, merge refusals, and agreement with `train`.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include <fmt/format.h>

#include "apps/lib/sweep/sweep.h"
#include "core/backend.h"
#include "core/error.h"
#include "tests/cli_util.h"

namespace fs = std::filesystem;
using namespace toy;

namespace {

using Run = testing::CliRun;
fs::path scratch() { return testing::scratch_dir("sweep"); }
Run run(const std::string& args) { return testing::run_cli(args, "sweep"); }
using testing::slurp;

const std::string kTiny = "sweep --H 10,20 --seeds 3 --epochs 200";

}  // namespace

TEST_CASE("sweep/wilson: 95% interval against hand-computed values") {
  struct W {
    int64_t k, n;
    double lo, hi;
  };
  // p~ = (p + z^2/2n) / (1 + z^2/n), half = z/(1 + z^2/n) * sqrt(p(1-p)/n + z^2/4n^2), z = 1.959964.
  for (const W& w : {W{0, 10, 0.0, 0.2775328}, W{10, 10, 0.7224672, 1.0}, W{78, 100, 0.6892965, 0.8499872},
                     W{5, 20, 0.1118617, 0.4687009}, W{1, 3, 0.0614919, 0.7923404}, W{92, 100, 0.8500189, 0.9589065}}) {
    CAPTURE(w.k);
    CAPTURE(w.n);
    Interval i = wilson_interval(w.k, w.n);
    CHECK(i.lo == doctest::Approx(w.lo).epsilon(1e-6));
    CHECK(i.hi == doctest::Approx(w.hi).epsilon(1e-6));
  }
  Interval none = wilson_interval(0, 0);
  CHECK(none.lo == 0);
  CHECK(none.hi == 1);
}

TEST_CASE("sweep/summary: counts, rates and numpy-style quartiles per H") {
  SweepConfig c;
  c.Hs = {10, 20, 40};
  std::vector<RunResult> runs;
  const float l10[] = {0.5f, 0.1f, 0.4f, 0.2f, 0.3f}, l20[] = {1, 2, 3, 4};
  // H=10: 3 solved, 1 stuck, 1 unfinished; H=20: 4 stuck.
  const Outcome o10[] = {Outcome::Solved, Outcome::Solved, Outcome::Solved, Outcome::Stuck, Outcome::Unfinished};
  for (int i = 0; i < 5; ++i) runs.push_back(RunResult{.H = 10, .final_loss = l10[i], .outcome = o10[i]});
  for (int i = 0; i < 4; ++i) runs.push_back(RunResult{.H = 20, .final_loss = l20[i], .outcome = Outcome::Stuck});
  std::vector<HSummary> s = summarize(c, runs);
  REQUIRE(s.size() == 3);
  CHECK(s[0].runs == 5);
  CHECK(s[0].solved.k == 3);
  CHECK(s[0].solved.rate == doctest::Approx(0.6));
  CHECK(s[0].stuck.k == 1);
  CHECK(s[0].unfinished.k == 1);
  CHECK(s[0].unfinished.rate == doctest::Approx(0.2));
  CHECK(s[0].stuck.ci.lo == doctest::Approx(wilson_interval(1, 5).lo));
  CHECK(s[1].stuck.k == 4);
  CHECK(s[1].stuck.rate == 1.0);
  CHECK(s[0].loss_median == doctest::Approx(0.3));
  CHECK(s[0].loss_q1 == doctest::Approx(0.2));
  CHECK(s[0].loss_q3 == doctest::Approx(0.4));
  CHECK(s[1].loss_q1 == doctest::Approx(1.75));
  CHECK(s[1].loss_median == doctest::Approx(2.5));
  CHECK(s[1].loss_q3 == doctest::Approx(3.25));
  CHECK(s[1].solved.ci.lo == 0);
  CHECK(s[2].runs == 0);
  const std::string csv = summary_csv(s);
  CHECK(csv.rfind("H,runs,solved,solved_rate,solved_rate_lo95,solved_rate_hi95,stuck,stuck_rate,stuck_rate_lo95,"
                  "stuck_rate_hi95,unfinished,unfinished_rate,unfinished_rate_lo95,unfinished_rate_hi95,"
                  "final_loss_median,final_loss_q1,final_loss_q3\n", 0) == 0);
  CHECK(csv.find("\n10,5,3,0.600000,") != std::string::npos);
  CHECK(csv.find("\n40,0,0,0.000000,0.000000,1.000000,0,0.000000,0.000000,1.000000,0,0.000000,0.000000,1.000000,nan,"
                 "nan,nan") != std::string::npos);
}

TEST_CASE("sweep/grid: shards are disjoint, cover the grid and interleave") {
  SweepConfig c;
  c.Hs = {10, 20};
  c.seeds = 3;
  c.seed_start = 7;
  std::vector<RunSpec> g = sweep_grid(c);
  REQUIRE(g.size() == 6);
  CHECK(g[0].H == 10);
  CHECK(g[0].seed == 7);
  CHECK(g[5].H == 20);
  CHECK(g[5].seed == 9);
  std::vector<int> seen(6, 0);
  for (int i = 1; i <= 4; ++i)
    for (const RunSpec& r : shard_of(g, parse_shard(std::to_string(i) + "/4"))) ++seen[static_cast<size_t>(r.index)];
  CHECK(seen == std::vector<int>(6, 1));
  std::vector<RunSpec> s2 = shard_of(g, parse_shard("2/4"));
  REQUIRE(s2.size() == 2);
  CHECK(s2[0].index == 1);
  CHECK(s2[1].index == 5);
  for (const char* bad : {"0/3", "4/3", "a/b", "3", "1/0", "-1/2", "1/2x"}) {
    CAPTURE(bad);
    CHECK_THROWS_WITH(parse_shard(bad), doctest::Contains("--shard"));
  }
  CHECK(parse_int_list("10,20,40", "--H") == std::vector<int64_t>{10, 20, 40});
  CHECK_THROWS_WITH(parse_int_list("10,10", "--H"), doctest::Contains("listed twice"));
  CHECK_THROWS_WITH(parse_int_list("10,,20", "--H"), doctest::Contains("not a positive integer"));
}

TEST_CASE("sweep/evidence: 'the' must attend to the subject (attention from judged positions to evidence)") {
  // judged_positions (verdict.h) finds the positions and their evidence; tests/test_verdict.cpp checks them.
  ToyCorpus c = parse_corpus("a x b c d\na y b c e\n", "test");
  Tensor attn = Tensor::zeros(Shape{2, 6, 6});
  attn[(0 * 6 + 4) * 6 + 2] = 0.8f;
  attn[(1 * 6 + 4) * 6 + 2] = 0.4f;
  CHECK(attention_to_evidence(c, attn) == doctest::Approx(0.6));
  // Nothing ambiguous: NaN.
  CHECK(std::isnan(attention_to_evidence(parse_corpus("a b\n", "one"), Tensor::zeros(Shape{1, 3, 3}))));
}

TEST_CASE("sweep/cli: the same arguments give byte-identical CSVs (any --jobs)") {
  fs::path d = scratch();
  Run a = run(kTiny + " --jobs 2 --out " + (d / "a").string());
  REQUIRE(a.code == 0);
  Run b = run(kTiny + " --jobs 1 --out " + (d / "b").string());
  REQUIRE(b.code == 0);
  for (const char* f : {"runs.csv", "summary.csv", "sweep.json", "report.html", "final_loss.svg", "outcome_rate.svg"}) {
    CAPTURE(f);
    CHECK(slurp(d / "a" / f) == slurp(d / "b" / f));
  }
  const std::string runs = slurp(d / "a" / "runs.csv");
  CHECK(runs.rfind("H,seed,final_loss,final_lr,outcome,share,solved,attn_the_to_subject,epochs,lr_reductions\n", 0) == 0);
  CHECK(std::count(runs.begin(), runs.end(), '\n') == 7);
  CHECK(runs.find("\n20,3,") != std::string::npos);
  CHECK(slurp(d / "a" / "timing.csv").rfind("H,seed,seconds,us_per_step\n", 0) == 0);
  CHECK(a.out.find("   10     3") != std::string::npos);  // the summary table
  CHECK(a.err.find("sweep: 6/6 runs done") != std::string::npos);  // plain progress lines off a terminal
  for (const auto& e : fs::directory_iterator(d / "a")) CHECK(e.path().string().find(".tmp") == std::string::npos);
}

TEST_CASE("sweep/cli: shard + merge equals the unsharded sweep") {
  fs::path d = scratch();
  REQUIRE(run(kTiny + " --out " + (d / "full").string()).code == 0);
  for (int i = 1; i <= 3; ++i)
    REQUIRE(run(kTiny + " --shard " + std::to_string(i) + "/3 --out " + (d / ("s" + std::to_string(i))).string())
                .code == 0);
  const std::string s1 = slurp(d / "s1" / "runs.csv");
  CHECK(std::count(s1.begin(), s1.end(), '\n') == 3);  // header + grid points 0 and 3
  Run m = run("sweep merge " + (d / "s3").string() + " " + (d / "s1").string() + " " + (d / "s2").string() +
              " --out " + (d / "merged").string());
  CAPTURE(m.err);
  REQUIRE(m.code == 0);
  CHECK(m.err.empty());
  CHECK(slurp(d / "merged" / "runs.csv") == slurp(d / "full" / "runs.csv"));
  CHECK(slurp(d / "merged" / "summary.csv") == slurp(d / "full" / "summary.csv"));
  CHECK(fs::file_size(d / "merged" / "report.html") > 1000);
  auto j = nlohmann::json::parse(slurp(d / "merged" / "sweep.json"));
  CHECK(j["shard"] == "1/1");
  CHECK(j["merged_from"].size() == 3);
  // Merging only some shards works, with a warning.
  Run part = run("sweep merge " + (d / "s1").string() + " --out " + (d / "part").string());
  CHECK(part.code == 0);
  CHECK(part.err.find("4 of 6 grid points have no run") != std::string::npos);
}

TEST_CASE("sweep/cli: merge refuses overlapping or mismatched shards") {
  fs::path d = scratch();
  REQUIRE(run(kTiny + " --shard 1/2 --out " + (d / "a").string()).code == 0);
  REQUIRE(run("sweep --H 10,20 --seeds 3 --epochs 100 --shard 2/2 --out " + (d / "b").string()).code == 0);
  Run overlap = run("sweep merge " + (d / "a").string() + " " + (d / "a").string() + " --out " + (d / "m").string());
  CHECK(overlap.code == 2);
  CHECK(overlap.err.find("shards overlap: H=10 seed 1") != std::string::npos);
  Run mismatch = run("sweep merge " + (d / "a").string() + " " + (d / "b").string() + " --out " + (d / "m").string());
  CHECK(mismatch.code == 2);
  CHECK(mismatch.err.find("another configuration") != std::string::npos);
  CHECK(mismatch.err.find("epochs 200 vs 100") != std::string::npos);
  Run notdir = run("sweep merge " + (d / "nothing").string() + " --out " + (d / "m").string());
  CHECK(notdir.code == 2);
  CHECK(!fs::exists(d / "m"));
}

TEST_CASE("sweep/cli: a row equals `train` with that H and seed") {
  fs::path d = scratch();
  REQUIRE(run(kTiny + " --out " + (d / "t").string()).code == 0);
  Run t = run("train --H 20 --seed 2 --epochs 200 --json");
  REQUIRE(t.code == 0);
  auto j = nlohmann::json::parse(t.out);
  SweepData sd = load_sweep_dir((d / "t").string());
  bool found = false;
  for (const RunResult& r : sd.runs)
    if (r.H == 20 && r.seed == 2) {
      found = true;
      CHECK(r.final_loss == j["final_loss"].get<float>());
      CHECK(r.final_lr == j["final_lr"].get<float>());
      CHECK(r.solved() == j["solved"].get<bool>());
      CHECK(outcome_name(r.outcome) == j["outcome"].get<std::string>());
      if (!std::isnan(r.share)) CHECK(r.share == j["share"].get<double>());
      CHECK(r.epochs == 200);
    }
  CHECK(found);
}

TEST_CASE("sweep/cli: bad arguments -> one line, exit code 2") {
  fs::path d = scratch();
  struct Bad {
    std::string args, says;
  };
  for (const Bad& b : {Bad{"sweep --H 10,10 --out " + (d / "x").string(), "listed twice"},
                       Bad{"sweep --shard 0/2 --out " + (d / "x").string(), "--shard"},
                       Bad{"sweep --seeds 0 --out " + (d / "x").string(), "--seeds: 0 is outside the valid range [1, "},
                       Bad{"sweep --batch 3 --out " + (d / "x").string(), "--batch 3 must divide"},
                       Bad{"sweep --H 10", "--out DIR is required"},
                       Bad{"sweep --plateau-factor 3 --out " + (d / "x").string(), "factor"},
                       Bad{"sweep merge --out " + (d / "x").string(), "DIRS"},
                       Bad{cuda_available() ? "sweep --H x" : "sweep --device cuda --out " + (d / "x").string(),
                           cuda_available() ? "--H" : "--device cuda"}}) {
    CAPTURE(b.args);
    testing::check_refused(run(b.args), {b.says});
  }
}

TEST_CASE("sweep/cli: --step is recorded and kept apart by merge, fused gives the graph's rows on the CPU") {
  fs::path d = scratch();
  REQUIRE(run(kTiny + " --out " + (d / "auto").string()).code == 0);
  REQUIRE(run(kTiny + " --step fused --out " + (d / "fused").string()).code == 0);
  CHECK(slurp(d / "fused" / "runs.csv") == slurp(d / "auto" / "runs.csv"));
  CHECK(nlohmann::json::parse(slurp(d / "fused" / "sweep.json")).at("config").at("step") == "fused");
  REQUIRE(run(kTiny + " --step fused --shard 2/2 --out " + (d / "b").string()).code == 0);
  REQUIRE(run(kTiny + " --shard 1/2 --out " + (d / "a").string()).code == 0);
  Run mismatch = run("sweep merge " + (d / "a").string() + " " + (d / "b").string() + " --out " + (d / "m").string());
  CHECK(mismatch.code == 2);
  CHECK(mismatch.err.find("step \"auto\" vs \"fused\"") != std::string::npos);
}

TEST_CASE("sweep/outcomes: runs.csv, summary.csv and `train` alone agree") {
  fs::path d = scratch();
  // 800 epochs: long enough for a mix of outcomes at these seeds.
  REQUIRE(run("sweep --H 10,20 --seeds 4 --epochs 800 --quiet --out " + (d / "o").string()).code == 0);
  const SweepData sd = load_sweep_dir((d / "o").string());
  REQUIRE(sd.runs.size() == 8);
  // summary.csv counts what runs.csv holds: recount from the rows.
  std::istringstream sum(slurp(d / "o" / "summary.csv"));
  std::string header, line;
  std::getline(sum, header);
  for (int64_t H : {10, 20}) {
    REQUIRE(std::getline(sum, line));
    int64_t solved = 0, stuck = 0, unfinished = 0;
    for (const RunResult& r : sd.runs) {
      if (r.H != H) continue;
      solved += r.outcome == Outcome::Solved;
      stuck += r.outcome == Outcome::Stuck;
      unfinished += r.outcome == Outcome::Unfinished;
      CHECK(r.solved() == (r.share >= 0.9));  // no run labelled solved below the threshold, none above it unlabelled
    }
    CHECK(solved + stuck + unfinished == 4);
    const std::vector<std::string> f = [&] {
      std::vector<std::string> out;
      std::stringstream ss(line);
      for (std::string x; std::getline(ss, x, ',');) out.push_back(x);
      return out;
    }();
    REQUIRE(f.size() == 17);
    CHECK(f[0] == std::to_string(H));
    CHECK(f[2] == std::to_string(solved));
    CHECK(f[6] == std::to_string(stuck));
    CHECK(f[10] == std::to_string(unfinished));
  }
  // Every row is `train --json` for that (H, seed): outcome, share, loss.
  for (const RunResult& r : sd.runs) {
    CAPTURE(r.H);
    CAPTURE(r.seed);
    Run t = run(fmt::format("train --H {} --seed {} --epochs 800 --json", r.H, r.seed));
    REQUIRE(t.code == 0);
    const auto j = nlohmann::json::parse(t.out);
    CHECK(j["outcome"].get<std::string>() == outcome_name(r.outcome));
    CHECK(j["share"].get<double>() == r.share);
    CHECK(j["final_loss"].get<float>() == r.final_loss);
  }
}
