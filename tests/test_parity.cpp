// CPU vs CUDA parity: every case of the op registry (autograd/op_cases.cpp) with gpu_parity set, forward and
// backward, at its default shapes and its size variants (1, 33, 1025), one doctest case per op family
// ("parity/<family>", registered from the registry); then each backend kernel called directly at sizes off the
// block size (1, 33, 1025). Pass: |cpu - gpu| <= 1e-5 + 1e-4 |cpu| everywhere
// (a NaN on one side only fails). The GPU side must also be deterministic: a replay, run after every op output was
// filled with NaN, gives bit-identical results (so a GPU kernel that skips an element fails too).
// Every test is skipped without a usable GPU.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <deque>
#include <cmath>
#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "autograd/ops.h"
#include "core/backend.h"
#include "core/error.h"
#include "core/rng.h"
#include "autograd/op_cases.h"
#include "tests/gpu_guard.h"

using namespace toy;
using namespace toy::testing;

namespace {

constexpr uint64_t kInputSeed = 20240611;
constexpr uint64_t kSeedSeed = 99;
const int64_t kSizes[] = {1, 33, 1025};

bool close(double cpu, double gpu) {
  if (std::isnan(cpu) || std::isnan(gpu)) return std::isnan(cpu) && std::isnan(gpu);
  if (cpu == gpu) return true;  // equal infinities
  return std::abs(cpu - gpu) <= 1e-5 + 1e-4 * std::abs(cpu);
}

// One CHECK per comparison; the message names the worst element.
void check_close(const std::vector<float>& cpu, const std::vector<float>& gpu, const std::string& what) {
  REQUIRE_MESSAGE(cpu.size() == gpu.size(), what, ": ", cpu.size(), " cpu values vs ", gpu.size(), " gpu values");
  size_t bad = 0, worst = 0;
  double worst_err = -1;
  for (size_t i = 0; i < cpu.size(); ++i) {
    const double err = std::abs(static_cast<double>(cpu[i]) - gpu[i]);
    const bool ok = close(cpu[i], gpu[i]);
    if (!ok) ++bad;
    if (!ok && (worst_err < 0 || err > worst_err || std::isnan(err))) worst_err = err, worst = i;
  }
  CHECK_MESSAGE(bad == 0, what, ": ", bad, " of ", cpu.size(), " values differ; worst at ", worst, ": cpu ",
                bad ? cpu[worst] : 0.0f, " gpu ", bad ? gpu[worst] : 0.0f);
}

void check_close(const Tensor& cpu, const Tensor& gpu, const std::string& what) {
  REQUIRE_MESSAGE(cpu.shape() == gpu.shape(), what, ": cpu (", cpu.shape().str(), ") vs gpu (", gpu.shape().str(), ")");
  check_close(cpu.to_vector(), gpu.to_vector(), what);
}

void check_identical(const std::vector<float>& a, const std::vector<float>& b, const std::string& what) {
  REQUIRE(a.size() == b.size());
  size_t bad = 0;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::memcmp(&a[i], &b[i], sizeof(float)) != 0) ++bad;
  CHECK_MESSAGE(bad == 0, what, ": ", bad, " of ", a.size(), " values changed between two identical GPU runs");
}

Tensor random_tensor(Rng& rng, const Shape& s, float lo = -1.0f, float hi = 1.0f) {
  Tensor t = Tensor::empty(s);
  for (int64_t i = 0; i < t.numel(); ++i) t[i] = rng.uniform(lo, hi);
  return t;
}

// ---- the registry ---------------------------------------------------------------------------------------------

std::vector<Var> make_vars(const OpCase& c, const std::vector<Tensor>& inputs, Device d) {
  std::vector<Var> vars;
  for (size_t i = 0; i < inputs.size(); ++i) {
    Tensor t = inputs[i].to(d);
    vars.push_back(c.differentiable[i] ? Var::param(t) : Var::constant(t));
  }
  return vars;
}

// Every op node's value to NaN (views of a leaf excepted: they share the input's buffer), so the replay that follows
// must write every element.
void nan_fill(Graph& g) {
  std::set<const float*> leaves;
  for (Node* n : g.nodes())
    if (!n->forward) leaves.insert(n->value.data());
  for (Node* n : g.nodes())
    if (n->forward && !leaves.count(n->value.data())) n->value.fill(std::nanf(""));
}

// Forward and backward (seeded with the same random tensor) on both devices; compare outputs and input gradients;
// then NaN-fill the GPU graph's outputs, replay it and require bit-identical results.
void run_variant(const OpCase& c, const Shapes& shapes) {
  std::string at;
  for (const Shape& s : shapes) at += (at.empty() ? "" : ", ") + s.str();
  const std::string what = fmt::format("{} at ({})", c.name, at);
  INFO("case ", what);
  const std::vector<Tensor> inputs = c.inputs(kInputSeed, shapes);
  std::vector<Var> vc = make_vars(c, inputs, Device::CPU);
  std::vector<Var> vg = make_vars(c, inputs, Device::CUDA);
  Var oc = c.fn(vc);
  Var og = c.fn(vg);
  REQUIRE(og.device() == Device::CUDA);
  check_close(oc.value(), og.value(), what + ": forward");
  if (!oc.requires_grad()) return;

  Rng seed_rng(kSeedSeed);
  const Tensor seed = random_tensor(seed_rng, oc.shape());
  const Tensor seed_gpu = seed.to(Device::CUDA);
  Graph gc(oc), gg(og);
  gc.backward(&seed);
  gg.backward(&seed_gpu);
  std::vector<std::vector<float>> grads;
  for (size_t i = 0; i < vc.size(); ++i) {
    if (!c.differentiable[i]) continue;
    check_close(vc[i].grad(), vg[i].grad(), fmt::format("{}: d input {}", what, i));
    grads.push_back(vg[i].grad().to_vector());
  }

  const std::vector<float> out_first = og.value().to_vector();
  gg.zero_grad();
  nan_fill(gg);
  gg.forward();
  gg.backward(&seed_gpu);
  check_identical(out_first, og.value().to_vector(), what + ": forward replay over NaN");
  for (size_t i = 0, k = 0; i < vg.size(); ++i)
    if (c.differentiable[i]) check_identical(grads[k++], vg[i].grad().to_vector(), what + ": backward replay");
}

// The registry's families in order of first appearance ("matmul/batched" -> "matmul").
const std::vector<std::string>& families() {
  static const std::vector<std::string> out = [] {
    std::vector<std::string> f;
    for (const OpCase& c : op_cases())
      if (std::find(f.begin(), f.end(), c.family()) == f.end()) f.push_back(c.family());
    return f;
  }();
  return out;
}

void run_family(const std::string& fam) {
  TOY_REQUIRE_GPU();
  int n = 0;
  for (const OpCase& c : op_cases())
    if (c.family() == fam && c.gpu_parity) {
      ++n;
      for (const Shapes& s : c.variants()) run_variant(c, s);
    }
  // Zero assertions must not read as a pass.
  if (n == 0) std::printf("toyformer-test-skipped: no case of family '%s' has a GPU parity check\n", fam.c_str());
}

// One doctest case per family, "parity/<family>": a test is a plain function pointer, so family i runs through the
// i-th instantiation of parity_test<I>.
constexpr size_t kMaxFamilies = 64;
template <size_t I>
void parity_test() {
  run_family(families().at(I));
}
template <size_t... I>
constexpr std::array<void (*)(), sizeof...(I)> parity_tests(std::index_sequence<I...>) {
  return {&parity_test<I>...};
}

const bool kRegistered = [] {
  static constexpr auto tests = parity_tests(std::make_index_sequence<kMaxFamilies>{});
  static std::deque<std::string> names;  // doctest keeps the const char*
  for (size_t i = 0; i < families().size() && i < kMaxFamilies; ++i) {
    names.push_back("parity/" + families()[i]);
    doctest::detail::regTest(doctest::detail::TestCase(tests[i], __FILE__, __LINE__,
                                                       doctest_detail_test_suite_ns::getCurrentTestSuite()) *
                             names.back().c_str());
  }
  return true;
}();

}  // namespace

// Runs without a GPU: every family got its parity test.
TEST_CASE("parity/registry: one test per op family") {
  REQUIRE(kRegistered);
  CHECK_MESSAGE(families().size() <= kMaxFamilies, families().size(), " families: raise kMaxFamilies");
  CHECK(std::find(families().begin(), families().end(), "softmax") != families().end());
}

// ---- direct kernel tests ----------------------------------------------------------------------------------------

namespace {

// The same values on both devices.
struct Buf {
  Tensor cpu, gpu;
  float* on(Device d) { return d == Device::CPU ? cpu.data() : gpu.data(); }
  int64_t n() const { return cpu.numel(); }
};

Buf buf_from(const std::vector<float>& v) {
  Tensor c = Tensor::from(Shape{static_cast<int64_t>(v.size())}, v);
  return {c, c.to(Device::CUDA)};
}
Buf buf_random(Rng& rng, int64_t n, float lo = -1.0f, float hi = 1.0f) {
  Tensor c = random_tensor(rng, Shape{n}, lo, hi);
  return {c, c.to(Device::CUDA)};
}
Buf buf_ids(Rng& rng, int64_t n, int64_t limit) {
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = static_cast<float>(rng.below(static_cast<uint64_t>(limit)));
  return buf_from(v);
}
Buf buf_full(int64_t n, float value) { return buf_from(std::vector<float>(static_cast<size_t>(n), value)); }

void expect_close(const Buf& b, const std::string& what) { check_close(b.cpu, b.gpu, what); }

// Run f(backend, device) on the CPU, then on CUDA.
template <class F>
void on_both(F f) {
  f(backend(Device::CPU), Device::CPU);
  f(backend(Device::CUDA), Device::CUDA);
}

}  // namespace

TEST_CASE("parity/fill_copy_increment: kernels") { TOY_REQUIRE_GPU();
  Rng rng(1);
  for (int64_t n : kSizes) {
    for (float v : {0.0f, -0.0f, 3.5f}) {
      Buf y = buf_random(rng, n);
      on_both([&](Backend& be, Device d) { be.fill(y.on(d), static_cast<size_t>(n), v); });
      expect_close(y, fmt::format("fill n={} v={}", n, v));
    }
    Buf x = buf_random(rng, n), y = buf_full(n, 0.0f);
    on_both([&](Backend& be, Device d) { be.copy(y.on(d), x.on(d), static_cast<size_t>(n)); });
    expect_close(y, fmt::format("copy n={}", n));
    on_both([&](Backend& be, Device d) {
      be.increment(y.on(d), 1.0f);
      be.increment(y.on(d), 0.25f);
    });
    expect_close(y, fmt::format("increment n={}", n));
  }
}

TEST_CASE("parity/embedding: kernels") { TOY_REQUIRE_GPU();
  Rng rng(2);
  const int64_t rows = 33;
  for (int64_t n : kSizes)
    for (int64_t e : {int64_t{1}, int64_t{33}})
      for (int64_t padding : {int64_t{-1}, int64_t{5}}) {
        INFO("n=", n, " e=", e, " padding_idx=", padding);
        Buf ids = buf_ids(rng, n, rows), table = buf_random(rng, rows * e), out = buf_full(n * e, 0.0f);
        on_both([&](Backend& be, Device d) { be.embedding_forward(ids.on(d), n, table.on(d), e, out.on(d)); });
        expect_close(out, "embedding_forward");
        Buf dout = buf_random(rng, n * e), dtable = buf_random(rng, rows * e);  // backward accumulates
        on_both([&](Backend& be, Device d) {
          be.embedding_backward(ids.on(d), n, dout.on(d), e, padding, rows, dtable.on(d));
        });
        expect_close(dtable, "embedding_backward");
      }
}

TEST_CASE("parity/add: kernels") { TOY_REQUIRE_GPU();
  Rng rng(3);
  // a [G, R, S] + b [G, S]: b over the leading axes (G = 1, R = 1 or 3, S at every size), and b [G, S] over the
  // middle axis (a bias per stacked model; each group's rows summed in order).
  std::vector<std::array<int64_t, 3>> shapes;
  for (int64_t nb : kSizes)
    for (int64_t lead : {int64_t{1}, int64_t{3}}) shapes.push_back({1, lead, nb});
  for (const auto& grs : {std::array<int64_t, 3>{3, 33, 5}, {2, 1025, 3}, {5, 1, 7}, {4, 7, 1}}) shapes.push_back(grs);
  for (const auto& grs : shapes) {
    const int64_t g = grs[0], r = grs[1], inner = grs[2];  // not a structured binding: clang 14 cannot capture one
    INFO("G=", g, " R=", r, " S=", inner);
    const int64_t na = g * r * inner, nb = g * inner;
    Buf a = buf_random(rng, na), b = buf_random(rng, nb), y = buf_full(na, 0.0f);
    on_both([&](Backend& be, Device d) { be.add_forward(a.on(d), na, b.on(d), nb, inner, y.on(d)); });
    expect_close(y, "add_forward");
    Buf dy = buf_random(rng, na), da = buf_random(rng, na), db = buf_random(rng, nb);
    on_both([&](Backend& be, Device d) { be.add_backward(dy.on(d), na, nb, inner, da.on(d), db.on(d)); });
    expect_close(da, "add_backward da");
    expect_close(db, "add_backward db");
    on_both([&](Backend& be, Device d) { be.add_backward(dy.on(d), na, nb, inner, nullptr, db.on(d)); });
    expect_close(db, "add_backward db only");
    on_both([&](Backend& be, Device d) { be.add_backward(dy.on(d), na, nb, inner, da.on(d), nullptr); });
    expect_close(da, "add_backward da only");
  }
  // add(x, x): da and db are the same buffer.
  Buf dy = buf_random(rng, 33), dx = buf_random(rng, 33);
  on_both([&](Backend& be, Device d) { be.add_backward(dy.on(d), 33, 33, 33, dx.on(d), dx.on(d)); });
  expect_close(dx, "add_backward da == db");
}

TEST_CASE("parity/scale: kernels") { TOY_REQUIRE_GPU();
  Rng rng(4);
  for (int64_t n : kSizes) {
    Buf x = buf_random(rng, n), y = buf_full(n, 0.0f), dy = buf_random(rng, n), dx = buf_random(rng, n);
    on_both([&](Backend& be, Device d) {
      be.scale_forward(x.on(d), n, -0.37f, y.on(d));
      be.scale_backward(dy.on(d), n, -0.37f, dx.on(d));
    });
    expect_close(y, fmt::format("scale_forward n={}", n));
    expect_close(dx, fmt::format("scale_backward n={}", n));
  }
}

TEST_CASE("parity/unary: kernels") { TOY_REQUIRE_GPU();
  Rng rng(5);
  for (Unary op : {Unary::Sigmoid, Unary::Tanh, Unary::Relu})
    for (int64_t n : kSizes) {
      INFO("op=", static_cast<int>(op), " n=", n);
      Buf x = buf_random(rng, n, -4.0f, 4.0f);
      if (n > 2) {  // saturated entries
        x.cpu[0] = 30.0f, x.cpu[1] = -30.0f, x.cpu[2] = 0.0f;
        x.gpu = x.cpu.to(Device::CUDA);
      }
      Buf y = buf_full(n, 0.0f), dy = buf_random(rng, n), dx = buf_random(rng, n);
      on_both([&](Backend& be, Device d) { be.unary_forward(op, x.on(d), n, y.on(d)); });
      expect_close(y, "unary_forward");
      // The backward reads y: give both sides the CPU's y, so only the backward formula is compared.
      y.gpu = y.cpu.to(Device::CUDA);
      on_both([&](Backend& be, Device d) { be.unary_backward(op, x.on(d), y.on(d), dy.on(d), n, dx.on(d)); });
      expect_close(dx, "unary_backward");
    }
}

TEST_CASE("parity/softmax: kernels") { TOY_REQUIRE_GPU();
  Rng rng(6);
  for (int64_t rows : kSizes)
    for (int64_t n : kSizes)
      for (int64_t mask_rows : {int64_t{0}, int64_t{1}, int64_t{3}}) {
        INFO("rows=", rows, " n=", n, " mask_rows=", mask_rows);
        Buf x = buf_random(rng, rows * n, -5.0f, 5.0f), y = buf_full(rows * n, 0.0f);
        Buf mask = buf_full(std::max<int64_t>(mask_rows, 1) * n, 1.0f);
        if (mask_rows) {
          for (int64_t i = 0; i < mask.n(); ++i) mask.cpu[i] = rng.uniform01() < 0.7f ? 1.0f : 0.0f;
          mask.cpu[mask.n() - 1] = 0.0f;  // a fully masked row when n == 1
          if (mask_rows == 3)
            for (int64_t j = 0; j < n; ++j) mask.cpu[j] = 0.0f;  // mask row 0 fully masked: all-zero weights
          mask.gpu = mask.cpu.to(Device::CUDA);
        }
        on_both([&](Backend& be, Device d) {
          be.softmax_forward(x.on(d), rows, n, mask_rows ? mask.on(d) : nullptr, mask_rows, y.on(d));
        });
        expect_close(y, "softmax_forward");
        y.gpu = y.cpu.to(Device::CUDA);
        Buf dy = buf_random(rng, rows * n), dx = buf_random(rng, rows * n);
        on_both([&](Backend& be, Device d) { be.softmax_backward(y.on(d), dy.on(d), rows, n, dx.on(d)); });
        expect_close(dx, "softmax_backward");
      }
}

TEST_CASE("parity/sum: kernels") { TOY_REQUIRE_GPU();
  Rng rng(7);
  for (int64_t n : {int64_t{1}, int64_t{33}, int64_t{1025}, int64_t{100003}})
    for (bool mean : {false, true}) {
      INFO("n=", n, " mean=", mean);
      const float divisor = mean ? static_cast<float>(n) : 1.0f;
      Buf x = buf_random(rng, n), y = buf_full(1, 0.0f);
      on_both([&](Backend& be, Device d) { be.sum_forward(x.on(d), n, divisor, y.on(d)); });
      expect_close(y, "sum_forward");
      Buf dy = buf_from({0.7f}), dx = buf_random(rng, n);
      on_both([&](Backend& be, Device d) { be.sum_backward(dy.on(d), n, divisor, dx.on(d)); });
      expect_close(dx, "sum_backward");
      std::vector<float> first = y.gpu.to_vector();
      backend(Device::CUDA).sum_forward(x.gpu.data(), n, divisor, y.gpu.data());
      check_identical(first, y.gpu.to_vector(), "sum_forward rerun");
    }
}

TEST_CASE("parity/sparse_ce: kernels") { TOY_REQUIRE_GPU();
  Rng rng(8);
  for (int64_t rows : kSizes)
    for (int64_t v : kSizes) {
      INFO("rows=", rows, " v=", v);
      const float divisor = static_cast<float>(rows);
      Buf t = buf_ids(rng, rows, v), z = buf_random(rng, rows * v, -8.0f, 8.0f), loss = buf_full(1, 0.0f);
      Buf dloss = buf_from({0.7f});
      on_both([&](Backend& be, Device d) { be.xent_logits_forward(z.on(d), t.on(d), rows, v, 1, divisor, loss.on(d)); });
      expect_close(loss, "xent_logits_forward");
      Buf dz = buf_random(rng, rows * v);
      on_both([&](Backend& be, Device d) {
        be.xent_logits_backward(z.on(d), t.on(d), rows, v, 1, divisor, dloss.on(d), dz.on(d));
      });
      expect_close(dz, "xent_logits_backward");

      Buf p = buf_random(rng, rows * v, 0.0f, 1.0f);
      if (rows * v > 3) {  // clipped entries at both ends
        p.cpu[0] = 0.0f, p.cpu[1] = 1.0f, p.cpu[2] = 1e-9f;
        p.gpu = p.cpu.to(Device::CUDA);
      }
      on_both([&](Backend& be, Device d) { be.xent_probs_forward(p.on(d), t.on(d), rows, v, 1, divisor, loss.on(d)); });
      expect_close(loss, "xent_probs_forward");
      Buf dp = buf_random(rng, rows * v);
      on_both([&](Backend& be, Device d) {
        be.xent_probs_backward(p.on(d), t.on(d), rows, v, 1, divisor, dloss.on(d), dp.on(d));
      });
      expect_close(dp, "xent_probs_backward");
    }
  // Grouped: 33 rows as 3 independent models of 11 rows, one loss and one dloss each.
  for (int64_t v : kSizes) {
    const int64_t rows = 33, groups = 3;
    INFO("grouped v=", v);
    Buf t = buf_ids(rng, rows, v), z = buf_random(rng, rows * v, -8.0f, 8.0f), loss = buf_full(groups, 0.0f);
    Buf dloss = buf_from({0.7f, -0.3f, 1.1f}), dz = buf_random(rng, rows * v);
    on_both([&](Backend& be, Device d) { be.xent_logits_forward(z.on(d), t.on(d), rows, v, groups, 11.0f, loss.on(d)); });
    expect_close(loss, "xent_logits_forward grouped");
    on_both([&](Backend& be, Device d) {
      be.xent_logits_backward(z.on(d), t.on(d), rows, v, groups, 11.0f, dloss.on(d), dz.on(d));
    });
    expect_close(dz, "xent_logits_backward grouped");
    Buf p = buf_random(rng, rows * v, 0.0f, 1.0f), dp = buf_random(rng, rows * v);
    on_both([&](Backend& be, Device d) { be.xent_probs_forward(p.on(d), t.on(d), rows, v, groups, 11.0f, loss.on(d)); });
    expect_close(loss, "xent_probs_forward grouped");
    on_both([&](Backend& be, Device d) {
      be.xent_probs_backward(p.on(d), t.on(d), rows, v, groups, 11.0f, dloss.on(d), dp.on(d));
    });
    expect_close(dp, "xent_probs_backward grouped");
  }
}

TEST_CASE("parity/optim: kernels") { TOY_REQUIRE_GPU();
  Rng rng(9);
  for (int64_t n : kSizes) {
    // n = 33: three stacked models of 11 elements with their own learning rates; else one model.
    const int64_t gs = n == 33 ? 11 : n;
    Buf lr = n == 33 ? buf_from({0.05f, 0.002f, 0.3f}) : buf_from({0.05f});
    struct Sgd {
      float momentum;
      bool nesterov;
    };
    for (Sgd s : {Sgd{0.0f, false}, Sgd{0.9f, false}, Sgd{0.9f, true}}) {
      INFO("sgd n=", n, " momentum=", s.momentum, " nesterov=", s.nesterov);
      Buf w = buf_random(rng, n), m = buf_full(n, 0.0f);
      for (int step = 0; step < 3; ++step) {
        Buf g = buf_random(rng, n);
        on_both([&](Backend& be, Device d) {
          be.sgd_update(w.on(d), g.on(d), m.on(d), n, lr.on(d), gs, s.momentum, s.nesterov);
        });
      }
      expect_close(w, "sgd w");
      expect_close(m, "sgd m");
    }
    for (float momentum : {0.0f, 0.9f}) {
      INFO("rmsprop n=", n, " momentum=", momentum);
      Buf w = buf_random(rng, n), ms = buf_full(n, 0.0f), mom = buf_full(n, 0.0f);
      for (int step = 0; step < 3; ++step) {
        Buf g = buf_random(rng, n);
        on_both([&](Backend& be, Device d) {
          be.rmsprop_update(w.on(d), g.on(d), ms.on(d), mom.on(d), n, lr.on(d), gs, 0.9f, momentum, 1e-7f);
        });
      }
      expect_close(w, "rmsprop w");
      expect_close(ms, "rmsprop ms");
      expect_close(mom, "rmsprop mom");
    }
    {
      INFO("adam n=", n);
      Buf w = buf_random(rng, n), m = buf_full(n, 0.0f), v = buf_full(n, 0.0f), step = buf_full(1, 0.0f);
      for (int i = 0; i < 3; ++i) {
        Buf g = buf_random(rng, n);
        on_both([&](Backend& be, Device d) {
          be.increment(step.on(d), 1.0f);
          be.adam_update(w.on(d), g.on(d), m.on(d), v.on(d), n, lr.on(d), gs, step.on(d), 0.9f, 0.999f, 1e-7f);
        });
      }
      expect_close(w, "adam w");
      expect_close(m, "adam m");
      expect_close(v, "adam v");
    }
  }
}

TEST_CASE("parity/gemm: kernels") { TOY_REQUIRE_GPU();
  Rng rng(10);
  struct Dims {
    int64_t m, n, k;
    bool positive;  // k = 1025 sums 1025 products: positive inputs keep the reordering error relative
  };
  const Dims dims[] = {{1, 1, 1, false},     {33, 1, 33, false},   {1, 33, 33, false}, {33, 33, 33, false},
                       {1025, 33, 1, false}, {33, 1025, 7, false}, {1, 1, 1025, true}, {33, 33, 1025, true}};
  for (const Dims& dm : dims)
    for (int t = 0; t < 4; ++t)
      for (int bc = 0; bc < 3; ++bc) {  // 0: batch 1; 1: batch 3, all strided; 2: batch 3, A broadcast (stride 0)
        const bool ta = t & 1, tb = t & 2;
        const int64_t batch = bc == 0 ? 1 : 3;
        const int64_t sa = bc == 1 ? dm.m * dm.k : 0, sb = bc == 0 ? 0 : dm.k * dm.n, sc = dm.m * dm.n;
        INFO("m=", dm.m, " n=", dm.n, " k=", dm.k, " trans_a=", ta, " trans_b=", tb, " batch=", batch,
             " stride_a=", sa);
        const float lo = dm.positive ? 0.0f : -1.0f;
        Buf a = buf_random(rng, std::max<int64_t>(sa * batch, dm.m * dm.k), lo, 1.0f);
        Buf b = buf_random(rng, std::max<int64_t>(sb * batch, dm.k * dm.n), lo, 1.0f);
        for (float beta : {0.0f, 1.0f, 0.25f}) {
          Buf c = buf_random(rng, sc * batch, lo, 1.0f);
          GemmArgs g;
          g.trans_a = ta, g.trans_b = tb, g.batch = batch, g.m = dm.m, g.n = dm.n, g.k = dm.k;
          g.stride_a = sa, g.stride_b = sb, g.stride_c = sc, g.alpha = beta == 0.25f ? 0.5f : 1.0f, g.beta = beta;
          on_both([&](Backend& be, Device d) {
            GemmArgs gd = g;
            gd.a = a.on(d), gd.b = b.on(d), gd.c = c.on(d);
            be.gemm(gd);
          });
          expect_close(c, fmt::format("gemm beta={}", beta));
        }
      }
}

TEST_CASE("parity/slice_last concat_last: kernels") { TOY_REQUIRE_GPU();
  Rng rng(11);
  for (int64_t rows : kSizes)
    for (int64_t n : kSizes) {
      const int64_t start = n / 3, len = n - n / 3;
      INFO("rows=", rows, " n=", n, " start=", start, " len=", len);
      Buf x = buf_random(rng, rows * n), y = buf_full(rows * len, 0.0f);
      on_both([&](Backend& be, Device d) { be.slice_last_forward(x.on(d), rows, n, start, len, y.on(d)); });
      expect_close(y, "slice_last_forward");
      Buf dy = buf_random(rng, rows * len), dx = buf_random(rng, rows * n);
      on_both([&](Backend& be, Device d) { be.slice_last_backward(dy.on(d), rows, n, start, len, dx.on(d)); });
      expect_close(dx, "slice_last_backward");
      const int64_t total = n + 7, offset = 5;
      Buf c = buf_random(rng, rows * total);
      on_both([&](Backend& be, Device d) { be.concat_last_forward(x.on(d), rows, n, total, offset, c.on(d)); });
      expect_close(c, "concat_last_forward");
      Buf dc = buf_random(rng, rows * total), dxc = buf_random(rng, rows * n);
      on_both([&](Backend& be, Device d) { be.concat_last_backward(dc.on(d), rows, n, total, offset, dxc.on(d)); });
      expect_close(dxc, "concat_last_backward");
    }
}

TEST_CASE("parity/conv1d: kernels") { TOY_REQUIRE_GPU();
  Rng rng(12);
  for (int64_t rows : kSizes)
    for (int64_t l : kSizes)
      for (int64_t k : {int64_t{1}, int64_t{8}, int64_t{33}})
        for (int64_t pad : {int64_t{0}, (k - 1) / 2, k - 1}) {
          const int64_t l_out = pad == 0 ? l - k + 1 : pad == k - 1 ? l + k - 1 : l;
          if (l_out < 1 || (pad == 0 && l < k)) continue;
          INFO("rows=", rows, " l=", l, " k=", k, " pad_left=", pad);
          Buf x = buf_random(rng, rows * l), w = buf_random(rng, k), y = buf_full(rows * l_out, 0.0f);
          on_both([&](Backend& be, Device d) { be.conv1d_forward(x.on(d), rows, l, w.on(d), k, pad, l_out, y.on(d)); });
          expect_close(y, "conv1d_forward");
          Buf dy = buf_random(rng, rows * l_out), dx = buf_random(rng, rows * l), dw = buf_random(rng, k);
          on_both([&](Backend& be, Device d) {
            be.conv1d_backward(x.on(d), w.on(d), dy.on(d), rows, l, k, pad, l_out, dx.on(d), dw.on(d));
          });
          expect_close(dx, "conv1d_backward dx");
          // dw sums rows * l_out products in different orders (CPU sequential, GPU a strided tree): beyond ~40k
          // random-sign terms the float rounding of the CPU's running sum alone nears the tolerance.
          if (rows * l_out <= 40000) expect_close(dw, "conv1d_backward dw");
        }
}

TEST_CASE("parity/layer_norm: kernels") { TOY_REQUIRE_GPU();
  Rng rng(13);
  for (int64_t rows : kSizes)
    for (int64_t n : {int64_t{1}, int64_t{33}, int64_t{256}, int64_t{257}, int64_t{1025}})
      for (int64_t groups : {int64_t{1}, rows}) {  // gamma, beta [n] or one row of them per row of x
        INFO("rows=", rows, " n=", n, " groups=", groups);
        const int64_t np = groups * n;
        Buf x = buf_random(rng, rows * n, -2.0f, 2.0f), gamma = buf_random(rng, np), beta = buf_random(rng, np);
        Buf y = buf_full(rows * n, std::nanf("")), stats = buf_full(rows * 2, std::nanf(""));
        on_both([&](Backend& be, Device d) {
          be.layer_norm_forward(x.on(d), rows, n, groups, gamma.on(d), beta.on(d), 1e-3f, y.on(d), stats.on(d));
        });
        expect_close(y, "layer_norm_forward y");
        expect_close(stats, "layer_norm_forward stats");
        Buf dy = buf_random(rng, rows * n), dx = buf_random(rng, rows * n), dg = buf_random(rng, np),
            db = buf_random(rng, np);
        on_both([&](Backend& be, Device d) {
          be.layer_norm_backward(x.on(d), gamma.on(d), stats.on(d), dy.on(d), rows, n, groups, dx.on(d), dg.on(d),
                                 db.on(d));
        });
        expect_close(dx, "layer_norm_backward dx");
        expect_close(dg, "layer_norm_backward dgamma");
        expect_close(db, "layer_norm_backward dbeta");
        // Each gradient alone (the others null), and twice on the GPU: bit-identical (no atomics).
        Buf dx1 = buf_full(rows * n, 0.0f), dg1 = buf_full(np, 0.0f), db1 = buf_full(np, 0.0f);
        on_both([&](Backend& be, Device d) {
          be.layer_norm_backward(x.on(d), gamma.on(d), stats.on(d), dy.on(d), rows, n, groups, dx1.on(d), nullptr,
                                 nullptr);
          be.layer_norm_backward(x.on(d), gamma.on(d), stats.on(d), dy.on(d), rows, n, groups, nullptr, dg1.on(d),
                                 nullptr);
          be.layer_norm_backward(x.on(d), gamma.on(d), stats.on(d), dy.on(d), rows, n, groups, nullptr, nullptr,
                                 db1.on(d));
        });
        expect_close(dx1, "layer_norm_backward dx alone");
        expect_close(dg1, "layer_norm_backward dgamma alone");
        expect_close(db1, "layer_norm_backward dbeta alone");
        const std::vector<float> first_dg = dg1.gpu.to_vector(), first_dx = dx1.gpu.to_vector();
        dx1.gpu.fill(0.0f);
        dg1.gpu.fill(0.0f);
        backend(Device::CUDA).layer_norm_backward(x.gpu.data(), gamma.gpu.data(), stats.gpu.data(), dy.gpu.data(), rows,
                                                  n, groups, dx1.gpu.data(), dg1.gpu.data(), nullptr);
        check_identical(first_dx, dx1.gpu.to_vector(), "layer_norm_backward dx rerun");
        check_identical(first_dg, dg1.gpu.to_vector(), "layer_norm_backward dgamma rerun");
      }
}
