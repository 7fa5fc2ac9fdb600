// Test helpers for running the `toyformer` binary.
#include "tests/cli_util.h"

#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>

namespace fs = std::filesystem;

namespace toy::testing {
namespace {
// Removes every scratch directory this process made, at exit.
struct Scratches {
  std::mutex mu;
  std::set<fs::path> dirs;
  ~Scratches() {
    for (const auto& d : dirs) {
      std::error_code ec;
      fs::remove_all(d, ec);
    }
  }
};
Scratches& scratches() {
  static Scratches s;
  return s;
}
}  // namespace

fs::path scratch_dir(const std::string& tag) {
  fs::path d = fs::temp_directory_path() / ("toyformer_" + tag + "_" + std::to_string(::getpid()));
  fs::create_directories(d);
  std::lock_guard<std::mutex> lock(scratches().mu);
  scratches().dirs.insert(d);
  return d;
}

std::string slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

CliRun run_cli(const std::string& args, const std::string& tag, const std::string& env) {
  fs::path d = scratch_dir(tag);
  std::string cmd = (env.empty() ? std::string() : "env " + env + " ") + std::string(TOY_TOYFORMER_BIN) + " " + args + " >" + (d / "out").string() + " 2>" +
                    (d / "err").string() + " </dev/null";
  int st = std::system(cmd.c_str());
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, slurp(d / "out"), slurp(d / "err")};
}

void check_refused(const CliRun& r, std::initializer_list<std::string> mentions) {
  CAPTURE(r.err);
  CHECK(r.code == 2);
  for (const std::string& m : mentions) CHECK_MESSAGE(r.err.find(m) != std::string::npos, "stderr lacks: ", m);
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  CHECK(r.out.empty());
}

Tensor get(const NpzArrays& a, const std::string& name) {
  for (const auto& [k, t] : a)
    if (k == name) return t;
  FAIL("no array " << name);
  return {};
}

void put(NpzArrays& a, const std::string& name, const Tensor& t) {
  for (auto& [n, x] : a)
    if (n == name) {
      x = t;
      return;
    }
  a.emplace_back(name, t);
}

void drop(NpzArrays& a, const std::string& name) {
  a.erase(std::remove_if(a.begin(), a.end(), [&](const auto& p) { return p.first == name; }), a.end());
}

}  // namespace toy::testing
