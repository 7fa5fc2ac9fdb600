// What the fuzz targets (tests/fuzz) found in the run and sweep loaders, kept as regression tests: numbers beyond
// int64's range where an integer is read (undefined behaviour in the cast) and a run.json whose histories disagree.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <functional>

#include <nlohmann/json.hpp>

#include "apps/lib/visual/report.h"
#include "apps/lib/sweep/sweep.h"
#include "core/error.h"
#include "tests/cli_util.h"

namespace fs = std::filesystem;
using namespace toy;

namespace {

fs::path scratch() { return testing::scratch_dir("loaderlimits"); }

nlohmann::json read_json(const fs::path& p) { return nlohmann::json::parse(testing::slurp(p)); }
void write_json(const fs::path& p, const nlohmann::json& j) { std::ofstream(p) << j.dump(); }

// A run directory of a 3-epoch run, made once; each test copies it.
fs::path run_dir(const std::string& name) {
  const fs::path base = scratch() / "run";
  if (!fs::exists(base / "run.json")) {
    testing::CliRun r = testing::run_cli("train --quiet --epochs 3 --out " + base.string(), "loaderlimits");
    REQUIRE_MESSAGE(r.code == 0, r.err);
  }
  const fs::path d = scratch() / name;
  fs::remove_all(d);
  fs::copy(base, d);
  return d;
}

fs::path sweep_dir(const std::string& name) {
  const fs::path base = scratch() / "sweep";
  if (!fs::exists(base / "sweep.json")) {
    testing::CliRun r =
        testing::run_cli("sweep --quiet --seeds 2 --epochs 3 --H 2,4 --out " + base.string(), "loaderlimits");
    REQUIRE_MESSAGE(r.code == 0, r.err);
  }
  const fs::path d = scratch() / name;
  fs::remove_all(d);
  fs::copy(base, d);
  return d;
}

std::string refusal(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "accepted";
}

}  // namespace

TEST_CASE("loaders/run.json: a number beyond int64's range is refused, naming file and place") {
  const fs::path d = run_dir("huge");
  CHECK(refusal([&] { load_run_dir(d.string()); }) == "accepted");
  nlohmann::json j = read_json(d / "run.json");
  j["metrics"]["params"] = 1e300;
  write_json(d / "run.json", j);
  CHECK(refusal([&] { load_run_dir(d.string()); }) ==
        (d / "run.json").string() + ": the number 1e+300 at /metrics/params is out of range (at most 9.2e18 in "
                                    "magnitude)");
  j = read_json(d / "run.json");
  j["metrics"]["params"] = 1000;
  j["corpus"]["sequences"][1][2] = -9.3e18;
  write_json(d / "run.json", j);
  CHECK(refusal([&] { load_run_dir(d.string()); }).find("the number -9.3e+18 at /corpus/sequences/1/2 is out of "
                                                         "range") != std::string::npos);
}

TEST_CASE("loaders/run.json: the lr history must match the loss history, reductions must be its epochs") {
  const fs::path d = run_dir("short");
  nlohmann::json good = read_json(d / "run.json");
  nlohmann::json j = good;
  j["history"]["lr"] = {0.01};
  write_json(d / "run.json", j);
  CHECK(refusal([&] { load_run_dir(d.string()); }) ==
        (d / "run.json").string() + ": history: 'lr' has 1 values but 'loss' has 3 (one of each per epoch)");
  j = good;
  j["history"]["reductions"] = {3};
  write_json(d / "run.json", j);
  CHECK(refusal([&] { load_run_dir(d.string()); }) ==
        (d / "run.json").string() + ": history: reductions[0] = 3 is not an epoch of the history (0..2, increasing)");
  j = good;
  j["history"]["reductions"] = {1, 1};
  write_json(d / "run.json", j);
  CHECK(refusal([&] { load_run_dir(d.string()); }).find("reductions[1] = 1 is not an epoch") != std::string::npos);
}

TEST_CASE("loaders/sweep.json: a number beyond int64's range is refused, naming file and place") {
  const fs::path d = sweep_dir("huge");
  CHECK(refusal([&] { load_sweep_dir(d.string()); }) == "accepted");
  nlohmann::json j = read_json(d / "sweep.json");
  j["corpus"]["sequences"][0][0] = 1e300;
  write_json(d / "sweep.json", j);
  CHECK(refusal([&] { load_sweep_dir(d.string()); }) ==
        (d / "sweep.json").string() + ": the number 1e+300 at /corpus/sequences/0/0 is out of range (at most 9.2e18 "
                                      "in magnitude)");
}
