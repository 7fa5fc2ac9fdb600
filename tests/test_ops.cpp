// Drives the op registry (autograd/op_cases.cpp): one doctest case per registry entry, "op/<name>: gradcheck",
// registered from the registry itself (no hand list). At the default shapes and at each size variant (1, 33, 1025)
// it checks the forward against the naive reference with every op output filled with NaN before the kernels run,
// the finite-difference gradient, and that the backward accumulates into the input gradients.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <array>
#include <cmath>
#include <deque>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <utility>

#include "autograd/op_cases.h"
#include "core/error.h"

using namespace toy;
using namespace toy::testing;

namespace {

constexpr uint64_t kInputSeed = 20240611;
// Above this many elements an input's gradient is checked at every k-th entry only (central differences cost two
// forward passes per entry); the kernels still run at the full size.
constexpr int64_t kMaxCheckedPerInput = 2048;

std::string shapes_str(const Shapes& s) {
  std::string out;
  for (const Shape& x : s) out += (out.empty() ? "" : ", ") + x.str();
  return out;
}

// Fill the value of every op node of the graph with NaN, then replay the recorded forward: an output element that a
// kernel skips stays NaN and fails the comparison. Views (reshape) share their input's storage: filling a view of a
// leaf would overwrite the input, so a node whose buffer is a leaf's is left alone (its producer refills it).
void nan_fill_and_replay(Graph& g) {
  std::set<const float*> leaves;
  for (Node* n : g.nodes())
    if (!n->forward) leaves.insert(n->value.data());
  for (Node* n : g.nodes())
    if (n->forward && !leaves.count(n->value.data())) n->value.fill(std::nanf(""));
  g.forward();
}

// Forward vs reference: |got - ref| <= atol + rtol |ref| everywhere (a NaN fails).
void check_forward(const OpCase& c, const Var& out, const Inputs& inputs) {
  Tensor ref = c.reference(inputs);
  REQUIRE_MESSAGE(out.shape() == ref.shape(), "output (", out.shape().str(), ") vs reference (", ref.shape().str(),
                  ")");
  std::vector<float> got = out.value().to_vector();
  int64_t bad = 0, first_bad = -1, worst = 0;
  double worst_err = 0;
  for (int64_t i = 0; i < ref.numel(); ++i) {
    const double r = ref[i], g = got[static_cast<size_t>(i)];
    const double err = std::abs(g - r);
    if (!(err <= c.fwd_atol + c.fwd_rtol * std::abs(r))) {  // a NaN fails too
      if (bad++ == 0) first_bad = i;
    }
    if (err > worst_err) worst_err = err, worst = i;
  }
  const int64_t at = first_bad >= 0 ? first_bad : worst;
  CHECK_MESSAGE(bad == 0, fmt::format("{}: {} of {} outputs differ from the reference; first at {}: {} vs {}",
                                      c.name, bad, ref.numel(), at, got[static_cast<size_t>(at)], ref[at]));
}

// The backward ADDS into its inputs' gradients (an input may feed several consumers): a second backward pass over
// the same graph doubles the leaf gradients instead of overwriting them.
void check_accumulates(const OpCase& c, const std::vector<Var>& vars, Graph& g) {
  const Var& out = g.root();
  Tensor seed = Tensor::empty(out.shape());
  Rng rng(c.grad.seed);
  for (int64_t i = 0; i < seed.numel(); ++i) seed[i] = rng.uniform(-1.0f, 1.0f);
  g.zero_grad();
  g.backward(&seed);
  std::vector<std::vector<float>> once;
  for (const Var& v : vars) once.push_back(v.requires_grad() ? v.grad().to_vector() : std::vector<float>{});
  g.backward(&seed);
  for (size_t i = 0; i < vars.size(); ++i) {
    if (!vars[i].requires_grad()) continue;
    std::vector<float> twice = vars[i].grad().to_vector();
    int64_t bad = 0;
    for (size_t j = 0; j < twice.size(); ++j)
      bad += !(std::abs(twice[j] - 2.0 * once[i][j]) <= 1e-6 * (1.0 + std::abs(2.0 * once[i][j])));
    CHECK_MESSAGE(bad == 0, c.name, ": input ", i, ": ", bad, " gradient entries were not accumulated");
  }
}

void run_variant(const OpCase& c, const Shapes& shapes) {
  INFO("case ", c.name, " at (", shapes_str(shapes), ")");
  const Inputs inputs = c.inputs(kInputSeed, shapes);

  // Forward on copies (the gradcheck below perturbs its own copies).
  std::vector<Var> vars;
  for (size_t i = 0; i < inputs.size(); ++i)
    vars.push_back(c.differentiable[i] ? Var::param(inputs[i].clone()) : Var::constant(inputs[i].clone()));
  Var out = c.fn(vars);
  Graph g(out);
  nan_fill_and_replay(g);
  check_forward(c, out, inputs);

  GradcheckOptions o = c.grad_options(inputs);
  std::vector<int64_t> stride;
  for (const Tensor& t : inputs) stride.push_back(std::max<int64_t>(1, t.numel() / kMaxCheckedPerInput));
  const auto case_skip = o.skip;
  o.skip = [&](size_t i, int64_t j) { return j % stride[i] != 0 || (case_skip && case_skip(i, j)); };
  GradcheckResult r = gradcheck(c.fn, inputs, c.differentiable, o);
  CHECK_MESSAGE(r.ok, c.name, ": ", r.summary());
  for (size_t i = 0; i < inputs.size(); ++i)
    if (c.differentiable[i]) CHECK_MESSAGE(r.inputs[i].checked > 0, c.name, ": input ", i, " was never checked");
  check_accumulates(c, vars, g);
}

void run_case(const OpCase& c) {
  for (const Shapes& s : c.variants()) run_variant(c, s);
}

// One doctest case per registry entry. A test is a plain function pointer, so case i runs through the i-th
// instantiation of op_test<I>; the registry may hold up to kMaxCases entries (the registration test checks it).
constexpr size_t kMaxCases = 256;
template <size_t I>
void op_test() {
  run_case(op_cases().at(I));
}
template <size_t... I>
constexpr std::array<void (*)(), sizeof...(I)> op_tests(std::index_sequence<I...>) {
  return {&op_test<I>...};
}

std::vector<std::string>& registered_names() {
  static std::vector<std::string> names;
  return names;
}

const bool kRegistered = [] {
  static constexpr auto tests = op_tests(std::make_index_sequence<kMaxCases>{});
  static std::deque<std::string> names;  // doctest keeps the const char*
  const auto& cases = op_cases();
  for (size_t i = 0; i < cases.size() && i < kMaxCases; ++i) {
    names.push_back("op/" + cases[i].name + ": gradcheck");
    registered_names().push_back(cases[i].name);
    doctest::detail::regTest(doctest::detail::TestCase(tests[i], __FILE__, __LINE__,
                                                       doctest_detail_test_suite_ns::getCurrentTestSuite()) *
                             names.back().c_str());
  }
  return true;
}();

// The names of the differentiable ops declared in autograd/ops.h ("Var <name>(" at the start of a line).
std::set<std::string> ops_declared() {
  std::ifstream f(TOY_SOURCE_DIR "/autograd/ops.h");
  REQUIRE_MESSAGE(f.good(), "cannot read " TOY_SOURCE_DIR "/autograd/ops.h");
  std::stringstream ss;
  ss << f.rdbuf();
  const std::string text = ss.str();
  std::set<std::string> ops;
  const std::regex decl(R"(\nVar ([a-z0-9_]+)\()");
  for (auto it = std::sregex_iterator(text.begin(), text.end(), decl); it != std::sregex_iterator(); ++it)
    ops.insert((*it)[1]);
  return ops;
}

}  // namespace

// Each op declared in autograd/ops.h has at least one registry case (its family is the op's name), every registry
// case got its doctest case, and the registry's own checks refuse a broken entry.
TEST_CASE("op/registry: every case has a test") {
  REQUIRE(kRegistered);
  std::set<std::string> families;
  for (const OpCase& c : op_cases()) families.insert(c.family());
  const std::set<std::string> ops = ops_declared();
  CHECK(ops.size() >= 16);  // the parse found the declarations
  for (const std::string& op : ops) CHECK_MESSAGE(families.count(op) == 1, "autograd/ops.h declares ", op,
                                                  " but autograd/op_cases.cpp has no case named ", op, "[/...]");
  // A family that names no op is a composite of several (only attention today).
  for (const std::string& f : families)
    if (!ops.count(f)) CHECK_MESSAGE(f == "attention", "family ", f, " names no op of autograd/ops.h");
  CHECK_MESSAGE(op_cases().size() <= kMaxCases, op_cases().size(), " cases: raise kMaxCases in tests/test_ops.cpp");
  std::vector<std::string> names;
  for (const OpCase& c : op_cases()) names.push_back(c.name);
  CHECK(registered_names() == names);
  for (const OpCase& c : op_cases()) {
    INFO("case ", c.name);
    for (const Shapes& s : c.variants()) CHECK(s.size() == c.input_names.size());
  }

  std::vector<OpCase> dup = {op_case("relu"), op_case("relu")};
  CHECK_THROWS_WITH_AS(check_op_cases(dup), doctest::Contains("duplicate case name 'relu'"), Error);
  dup.pop_back();
  dup[0].name = "relu: a, b";
  CHECK_THROWS_WITH_AS(check_op_cases(dup), doctest::Contains("must be made of [a-z0-9_/]"), Error);
  dup[0] = op_case("relu");
  dup[0].differentiable = {false};
  CHECK_THROWS_WITH_AS(check_op_cases(dup), doctest::Contains("relu: no differentiable input"), Error);
  CHECK_THROWS_WITH_AS(op_case("no/such_case"), doctest::Contains("no case named 'no/such_case'"), Error);
  CHECK(op_case_or_family("matmul").name == "matmul/2d");
  CHECK(op_case_or_family("softmax/causal").name == "softmax/causal");
  CHECK_THROWS_WITH_AS(op_case_or_family("nope"), doctest::Contains("unknown op 'nope'"), Error);
}

// The padding row is read by the forward like any other row but gets no gradient, even where its id occurs
// several times; the other rows that occur get non-zero gradients.
TEST_CASE("op/embedding/padding_idx: the padding row gets no gradient") {
  const OpCase& c = op_case("embedding/padding_idx");
  std::vector<Tensor> in = c.inputs(kInputSeed);
  Var ids = Var::constant(in[0]), table = Var::param(in[1]);
  Var out = c.fn({ids, table});
  for (int64_t j = 0; j < 7; ++j) CHECK(out.value()[1 * 7 + j] == in[1][j]);  // flat position 1 holds id 0
  Tensor seed = Tensor::full(out.shape(), 1.0f);
  Graph(out).backward(&seed);
  const Tensor& g = table.grad();
  const int64_t e = g.dim(1);
  for (int64_t j = 0; j < e; ++j) CHECK(g[j] == 0.0f);
  for (int64_t i = 0; i < in[0].numel(); ++i) {
    const int64_t id = static_cast<int64_t>(in[0][i]);
    if (id != 0) CHECK(g[id * e] != 0.0f);
  }
}

// Where the clip is active (p outside [1e-7, 1 - 1e-7]) the gradient is exactly zero, also for a target entry.
TEST_CASE("op/sparse_ce_probs: zero gradient where the clip is active") {
  const OpCase& c = op_case("sparse_ce_probs");
  std::vector<Tensor> in = c.inputs(kInputSeed);
  Var p = Var::param(in[0]), t = Var::constant(in[1]);
  Var loss = c.fn({p, t});
  CHECK(std::isfinite(loss.value().item()));
  backward(loss);
  const Tensor& g = p.grad();
  int64_t clipped = 0;
  for (int64_t i = 0; i < g.numel(); ++i) {
    const float v = in[0][i];
    if (v < 1e-7f || v > 1.0f - 1e-7f) {
      ++clipped;
      CHECK_MESSAGE(g[i] == 0.0f, "p[", i, "] = ", v);
    } else {
      CHECK_MESSAGE(g[i] != 0.0f, "p[", i, "] = ", v);
    }
  }
  CHECK(clipped == 6);
}

// The fully-masked-row rule (autograd/ops.h): a query whose keys are all masked gets all-zero weights and a zero
// gradient; the Keras adder alone would give a uniform row (x - 1e9 rounds to -1e9 for every key).
TEST_CASE("op/softmax: a fully masked row is all zero with zero gradient") {
  Tensor x = Tensor::from(Shape{2, 3}, {0.5f, -1.0f, 2.0f, 3.0f, 0.25f, -0.75f});
  Tensor mask = Tensor::from(Shape{2, 3}, {1, 0, 1, 0, 0, 0});  // row 1: every key masked
  Var xv = Var::param(x);
  Var y = softmax(xv, mask);
  std::vector<float> w = y.value().to_vector();
  for (float v : w) CHECK(std::isfinite(v));
  CHECK(w[3] == 0.0f);
  CHECK(w[4] == 0.0f);
  CHECK(w[5] == 0.0f);
  CHECK(w[1] == 0.0f);                                 // a masked key of a kept row
  CHECK(std::abs(w[0] + w[2] - 1.0) <= 1e-6);          // kept rows still sum to 1
  CHECK(std::abs(w[2] / w[0] - std::exp(1.5)) <= 1e-4);
  Tensor seed = Tensor::from(Shape{2, 3}, {0.3f, -0.2f, 0.9f, 1.0f, -2.0f, 0.5f});
  Graph(y).backward(&seed);
  const Tensor& g = xv.grad();
  CHECK(g[1] == 0.0f);
  for (int64_t j = 3; j < 6; ++j) CHECK(g[j] == 0.0f);
  CHECK(g[0] != 0.0f);

  // What the adder alone gives (the reason for the rule): softmax(x - 1e9) in float is uniform.
  Var keras = softmax(Var::constant(Tensor::from(Shape{3}, {3.0f - 1e9f, 0.25f - 1e9f, -0.75f - 1e9f})));
  for (int64_t j = 0; j < 3; ++j) CHECK(std::abs(keras.value()[j] - 1.0 / 3.0) <= 1e-6);
}

TEST_CASE("op/slice_last concat_last conv1d: errors name the op and the shapes") {
  Var x = Var::constant(Tensor::zeros(Shape{2, 5, 7}));
  CHECK_THROWS_WITH_AS(slice_last(x, 5, 3), doctest::Contains("slice_last: columns [5, 8)"), Error);
  CHECK_THROWS_WITH_AS(slice_last(x, 5, 3), doctest::Contains("(2x5x7)"), Error);
  CHECK_THROWS_WITH_AS(slice_last(x, -1, 2), doctest::Contains("slice_last"), Error);
  CHECK_THROWS_WITH_AS(slice_last(x, 0, 0), doctest::Contains("slice_last"), Error);
  CHECK_THROWS_WITH_AS(concat_last({}), doctest::Contains("concat_last: no inputs"), Error);
  CHECK_THROWS_WITH_AS(concat_last({x, Var::constant(Tensor::zeros(Shape{2, 4, 7}))}),
                       doctest::Contains("concat_last: input 1 (2x4x7) does not match input 0 (2x5x7)"), Error);
  CHECK_THROWS_WITH_AS(concat_last({x, Var::constant(Tensor::zeros(Shape{10, 7}))}),
                       doctest::Contains("concat_last: input 1 (10x7)"), Error);
  Var k = Var::constant(Tensor::zeros(Shape{8}));
  CHECK_THROWS_WITH_AS(conv1d(x, k), doctest::Contains("conv1d: x (2x5x7) is shorter than the kernel (8)"), Error);
  CHECK_THROWS_WITH_AS(conv1d(x, x), doctest::Contains("conv1d: kernel must be 1-D [K], got (2x5x7)"), Error);
  CHECK(conv1d(x, k, Conv1dPadding::Same).shape() == Shape{2, 5, 7});
  CHECK(conv1d(x, k, Conv1dPadding::Full).shape() == Shape{2, 5, 14});
}

// conv1d matches numpy's convolve on a flipped kernel (a cross-correlation), here with Same padding and an even
// kernel: the extra padding goes to the right, as PyTorch's padding='same'.
TEST_CASE("op/conv1d: same padding puts the extra zero on the right") {
  Var x = Var::constant(Tensor::from(Shape{5}, {1, 2, 3, 4, 5}));
  Var k = Var::constant(Tensor::from(Shape{4}, {1, 10, 100, 1000}));
  // pad_left = 1: y_i = x[i-1] + 10 x[i] + 100 x[i+1] + 1000 x[i+2]
  std::vector<float> y = conv1d(x, k, Conv1dPadding::Same).value().to_vector();
  CHECK(y == std::vector<float>{3210, 4321, 5432, 543, 54});
  y = conv1d(x, k).value().to_vector();
  CHECK(y == std::vector<float>{4321, 5432});
}

TEST_CASE("op/layer_norm: errors name the op and the shapes") {
  Var x = Var::constant(Tensor::zeros(Shape{2, 5, 7}));
  Var g7 = Var::constant(Tensor::zeros(Shape{7})), g5 = Var::constant(Tensor::zeros(Shape{5}));
  Var g37 = Var::constant(Tensor::zeros(Shape{3, 7})), g127 = Var::constant(Tensor::zeros(Shape{1, 2, 7}));
  CHECK_THROWS_WITH_AS(
      layer_norm(x, g5, g7, 1e-3f),
      doctest::Contains("layer_norm: gamma (5) must be [7] (the last axis of x (2x5x7)), or [G, 7] with G dividing x's "
                        "10 rows"),
      Error);
  // Per-group parameters: G must divide the rows (10 rows, 3 groups), and the rank is 1 or 2.
  CHECK_THROWS_WITH_AS(layer_norm(x, g37, g37, 1e-3f), doctest::Contains("layer_norm: gamma (3x7) must be [7]"), Error);
  CHECK_THROWS_WITH_AS(layer_norm(x, g127, g127, 1e-3f), doctest::Contains("layer_norm: gamma (1x2x7) must be [7]"),
                       Error);
  CHECK_THROWS_WITH_AS(layer_norm(x, g7, g5, 1e-3f), doctest::Contains("layer_norm: beta (5) must have gamma's shape (7)"),
                       Error);
  Var g27 = Var::constant(Tensor::zeros(Shape{2, 7}));
  CHECK(layer_norm(x, g27, g27, 1e-3f).shape() == x.shape());
  CHECK_THROWS_WITH_AS(layer_norm(x, g27, g7, 1e-3f), doctest::Contains("layer_norm: beta (7) must have gamma's shape (2x7)"),
                       Error);
  for (float eps : {0.0f, -1e-3f, std::nanf(""), INFINITY})
    CHECK_THROWS_WITH_AS(layer_norm(x, g7, g7, eps), doctest::Contains("layer_norm: eps must be positive and finite"),
                         Error);
  CHECK_THROWS_WITH_AS(layer_norm(Var(), g7, g7, 1e-3f), doctest::Contains("layer_norm: x is undefined"), Error);
  CHECK_THROWS_WITH_AS(layer_norm(Var::constant(Tensor::zeros(Shape{0, 7})), g7, g7, 1e-3f),
                       doctest::Contains("layer_norm: x is empty (0x7)"), Error);
  CHECK(layer_norm(x, g7, g7, 1e-3f).shape() == Shape{2, 5, 7});
}

// One row worked by hand: x = (1, 3, 5, 7), mean 4, var (9 + 1 + 1 + 9) / 4 = 5, rstd = 1 / sqrt(5 + eps); a constant
// row gives y = beta. Seeded with dy = 1 and gamma = 1, dx is 0 (g - mean g = 0 and mean(g xhat) = mean xhat = 0).
TEST_CASE("op/layer_norm: a row by hand, a constant row, and the gradients of a flat seed") {
  Var x = Var::param(Tensor::from(Shape{2, 4}, {1, 3, 5, 7, 2, 2, 2, 2}));
  Var gamma = Var::param(Tensor::from(Shape{4}, {1, 1, 1, 1}));
  Var beta = Var::param(Tensor::from(Shape{4}, {0.5f, 0, 0, -1}));
  Var y = layer_norm(x, gamma, beta, 0.25f);  // 5.25 = 21 / 4: rstd = 2 / sqrt(21)
  const double r = 2.0 / std::sqrt(21.0);
  const double want[] = {-3 * r + 0.5, -r, r, 3 * r - 1, 0.5, 0, 0, -1};
  for (int64_t i = 0; i < 8; ++i) CHECK(y.value()[i] == doctest::Approx(want[i]).epsilon(1e-6));
  const Tensor seed = Tensor::full(Shape{2, 4}, 1.0f);
  Graph(y).backward(&seed);
  for (int64_t i = 0; i < 8; ++i) CHECK(std::abs(x.grad()[i]) <= 1e-6f);
  for (int64_t j = 0; j < 4; ++j) CHECK(beta.grad()[j] == 2.0f);  // rows summed
  const double xhat0[] = {-3 * r, -r, r, 3 * r};                  // row 1's xhat is 0
  for (int64_t j = 0; j < 4; ++j) CHECK(gamma.grad()[j] == doctest::Approx(xhat0[j]).epsilon(1e-6));
}
