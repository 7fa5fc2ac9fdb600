// `toyformer compare A.npz B.npz`: per-layer max abs / max rel difference of two dumps, with a tolerance and an exit
// code (0: within tolerance, 1: differences, 2: bad usage or unreadable files), like cmp(1).
#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "apps/commands.h"
#include "apps/flag_checks.h"
#include "apps/lib/formats/compare.h"
#include "core/error.h"

namespace toy::app {
namespace {

struct CompareCli {
  std::string a, b, layers;
  double atol = 1e-5, rtol = 1e-4;
  bool allow_missing = false, json = false;
};

int run_compare(const CompareCli& c) {
  TOY_CHECK(c.atol >= 0 && c.rtol >= 0, "--atol and --rtol must be >= 0");
  NpzArrays a = load_npz(c.a), b = load_npz(c.b);
  std::vector<std::string> only;
  std::stringstream ss(c.layers);
  for (std::string tok; std::getline(ss, tok, ',');)
    if (!tok.empty()) only.push_back(tok);
  CompareResult r = compare_arrays(a, b, c.atol, c.rtol, only, c.allow_missing);
  if (c.json) {
    nlohmann::json j = nlohmann::json::array();
    for (const auto& d : r.arrays)
      j.push_back({{"name", d.name}, {"status", d.status}, {"shape_a", d.shape_a}, {"shape_b", d.shape_b},
                   {"max_abs", d.max_abs}, {"max_rel", d.max_rel}, {"worst_index", d.worst_index},
                   {"worst_at", d.worst_index < 0 ? nlohmann::json() : nlohmann::json(d.worst_at)}});
    fmt::print("{}\n", nlohmann::json{{"ok", r.ok}, {"atol", c.atol}, {"rtol", c.rtol}, {"arrays", j}}.dump());
    return r.ok ? 0 : 1;
  }
  fmt::print("comparing {} (A) with {} (B): pass when |A-B| <= {:g} + {:g}*|B|\n", c.a, c.b, c.atol, c.rtol);
  fmt::print("{:<24} {:<12} {:>12} {:>12}  {}\n", "array", "shape", "max abs", "max rel", "status");
  for (const auto& d : r.arrays) {
    std::string shape = d.shape_a == d.shape_b || d.shape_b.empty() ? d.shape_a
                        : d.shape_a.empty()                          ? d.shape_b
                                                                     : d.shape_a + " vs " + d.shape_b;
    std::string detail;
    if (d.status == "differs" || d.status == "nan")
      detail = fmt::format("  (worst at {}: {:.7g} vs {:.7g})", coords_text(d.worst_at), d.worst_a, d.worst_b);
    bool compared = d.status == "ok" || d.status == "differs" || d.status == "nan";
    fmt::print("{:<24} {:<12} {:>12} {:>12}  {}{}\n", d.name, shape, compared ? fmt::format("{:.3g}", d.max_abs) : "-",
               compared ? fmt::format("{:.3g}", d.max_rel) : "-", d.status == "ok" ? "ok" : "FAIL: " + d.status, detail);
  }
  fmt::print("{}\n", r.ok ? "all arrays within tolerance" : "differences beyond tolerance");
  return r.ok ? 0 : 1;
}

}  // namespace

Runner add_compare(CLI::App& app) {
  auto c = std::make_shared<CompareCli>();
  CLI::App* s = app.add_subcommand("compare", "compare two .npz dumps layer by layer (exit 0 same, 1 different)");
  s->add_option("A", c->a, "first .npz (e.g. ours)")->required();
  s->add_option("B", c->b, "second .npz (the reference: relative errors are taken against it)")->required();
  s->add_option("--atol", c->atol, "absolute tolerance, >= 0")->check(finite_in(0, 1e30))->capture_default_str();
  s->add_option("--rtol", c->rtol, "relative tolerance, >= 0")->check(finite_in(0, 1e30))->capture_default_str();
  s->add_option("--layers", c->layers, "comma-separated arrays to compare (default: all)");
  s->add_flag("--allow-missing", c->allow_missing, "arrays present in only one file do not fail the comparison");
  s->add_flag("--json", c->json, "one JSON object on stdout");
  return [c] { return run_compare(*c); };
}

}  // namespace toy::app
