// `toyformer gradcheck --op NAME [--shape AxB,CxD]`: the test suite's finite-difference checker on any case of the
// op registry (autograd/op_cases.h, the one the tests read), printing the worst error per input. NAME is a case
// ("matmul/batched_trans_b") or an op family ("matmul": its first case). Exit 0 when the analytic gradient agrees,
// 1 when it does not, 2 bad usage.
#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "apps/commands.h"
#include "apps/flag_checks.h"
#include "autograd/op_cases.h"
#include "core/error.h"

namespace toy::app {
namespace {

struct GradcheckCli {
  std::string op, shapes;
  uint64_t seed = 1;
  double eps = 1e-3, atol = 1e-3, rtol = 1e-2;
  bool list = false, json = false;
  // Given on the command line (else the case's own tolerances apply, which default to the same values).
  CLI::Option *eps_opt = nullptr, *atol_opt = nullptr, *rtol_opt = nullptr;
};

constexpr int64_t kMaxCheckedElements = 100000;

Shape parse_shape(const std::string& s) {
  std::vector<int64_t> dims;
  std::stringstream ss(s);
  for (std::string tok; std::getline(ss, tok, 'x');) {
    size_t used = 0;
    int64_t d = -1;
    try {
      d = std::stoll(tok, &used);
    } catch (const std::logic_error&) {
    }
    TOY_CHECK(used == tok.size() && d > 0, "--shape: '{}' is not a shape like 2x5x7", s);
    dims.push_back(d);
  }
  TOY_CHECK(!dims.empty(), "--shape: '{}' is not a shape like 2x5x7", s);
  try {
    const Shape shape(dims);
    // Central differences run the op twice per element: past ~1e5 elements a check takes hours, past the memory
    // budget it cannot start.
    TOY_CHECK(shape.numel() <= kMaxCheckedElements, "{} elements; gradcheck takes at most {} per input (two forward "
              "passes per element)", shape.numel(), kMaxCheckedElements);
    return shape;
  } catch (const Error& e) {
    fail("--shape {}: {}", s, e.what());
  }
}

int run_gradcheck(const GradcheckCli& c) {
  using testing::OpCase;
  if (c.list) {
    fmt::print("--op takes a case or a family (its first case); --shape replaces the default input shapes.\n");
    for (const OpCase& op : testing::op_cases()) {
      std::string ins;
      for (size_t i = 0; i < op.input_names.size(); ++i)
        ins += (ins.empty() ? "" : ", ") + op.input_names[i] + " " + op.shapes[i].str();
      fmt::print("{:<32} {}\n{:<32} default inputs: {}\n", op.name, op.formula, "", ins);
    }
    return 0;
  }
  TOY_CHECK(!c.op.empty(), "gradcheck: name an op with --op (see --list)");
  TOY_CHECK(c.eps > 0 && c.atol >= 0 && c.rtol >= 0, "gradcheck: --eps must be positive, --atol/--rtol >= 0");
  const OpCase* found = nullptr;
  try {
    found = &testing::op_case_or_family(c.op);
  } catch (const Error& e) {
    fail("gradcheck: {}", e.what());
  }
  const OpCase& op = *found;
  std::vector<Shape> shapes;
  std::stringstream ss(c.shapes);
  for (std::string tok; std::getline(ss, tok, ',');) shapes.push_back(parse_shape(tok));
  TOY_CHECK(shapes.empty() || shapes.size() == op.input_names.size(), "gradcheck: --op {} takes {} input shapes, got {}",
            op.name, op.input_names.size(), shapes.size());
  std::vector<Tensor> inputs = op.inputs(c.seed, shapes);
  GradcheckOptions o = op.grad_options(inputs);
  if (c.eps_opt && c.eps_opt->count()) o.eps = c.eps;
  if (c.atol_opt && c.atol_opt->count()) o.atol = c.atol;
  if (c.rtol_opt && c.rtol_opt->count()) o.rtol = c.rtol;
  o.seed = c.seed;
  GradcheckResult r;
  try {
    r = gradcheck(op.fn, inputs, op.differentiable, o);
  } catch (const Error& e) {
    fail("gradcheck --op {}: {}", op.name, e.what());
  }
  if (c.json) {
    nlohmann::json ins = nlohmann::json::array();
    for (size_t i = 0; i < op.input_names.size(); ++i) {
      const auto& rep = r.inputs[i];
      ins.push_back({{"name", op.input_names[i]}, {"shape", inputs[i].shape().str()}, {"checked", rep.checked},
                     {"max_abs_err", rep.max_abs_err}, {"max_rel_err", rep.max_rel_err}, {"ok", rep.ok}});
    }
    fmt::print("{}\n", nlohmann::json{{"op", op.name}, {"ok", r.ok}, {"inputs", ins}}.dump());
    return r.ok ? 0 : 1;
  }
  fmt::print("gradcheck {}: {}\n", op.name, op.formula);
  fmt::print("L = sum(w * op(inputs)), w ~ U(-1,1) seeded; central differences (eps {:g}) in double;\n"
             "pass when |analytic - numeric| <= {:g} + {:g} * |numeric|\n\n",
             o.eps, o.atol, o.rtol);
  fmt::print("{:<10} {:<10} {:>8} {:>13} {:>13}  {}\n", "input", "shape", "checked", "max abs err", "max rel err",
             "result");
  for (size_t i = 0; i < op.input_names.size(); ++i) {
    const auto& rep = r.inputs[i];
    if (!op.differentiable[i]) {
      fmt::print("{:<10} {:<10} {:>8} {:>13} {:>13}  constant (not differentiable)\n", op.input_names[i],
                 inputs[i].shape().str(), "-", "-", "-");
      continue;
    }
    std::string detail = rep.ok ? "ok"
                                : fmt::format("FAIL at flat index {}: analytic {:.6g}, numeric {:.6g}",
                                              rep.worst_index, rep.worst_analytic, rep.worst_numeric);
    fmt::print("{:<10} {:<10} {:>8} {:>13.3g} {:>13.3g}  {}\n", op.input_names[i], inputs[i].shape().str(), rep.checked,
               rep.max_abs_err, rep.max_rel_err, detail);
  }
  fmt::print("\n{}\n", r.ok ? "gradient check passed" : "gradient check FAILED");
  return r.ok ? 0 : 1;
}

}  // namespace

Runner add_gradcheck(CLI::App& app) {
  auto c = std::make_shared<GradcheckCli>();
  CLI::App* s = app.add_subcommand("gradcheck", "finite-difference check of a built-in op's backward");
  s->add_option("--op", c->op, "the op (see --list)");
  s->add_option("--shape", c->shapes, "input shapes, comma-separated, e.g. 2x5x7,7x3 (default: the op's)");
  s->add_option("--seed", c->seed, "seed of the random inputs and weights")->check(seed_value())->capture_default_str();
  c->eps_opt = s->add_option("--eps", c->eps, "central-difference step, in (0, 1] (default: the case's)")->check(finite_in(0, 1, true))->capture_default_str();
  c->atol_opt = s->add_option("--atol", c->atol, "absolute tolerance, >= 0")->check(finite_in(0, 1e30))->capture_default_str();
  c->rtol_opt = s->add_option("--rtol", c->rtol, "relative tolerance, >= 0")->check(finite_in(0, 1e30))->capture_default_str();
  s->add_flag("--list", c->list, "list the ops with their default input shapes");
  s->add_flag("--json", c->json, "one JSON object on stdout");
  return [c] { return run_gradcheck(*c); };
}

}  // namespace toy::app
