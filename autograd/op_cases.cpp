// The op test registry: every op in autograd/ops.h at small odd shapes (B=2, T=5, E=7, H=3, V=11) and, where the
// op allows, at sizes 1, 33 and 1025 of one axis, with its variants (broadcasts, transposes, masks, saturated inputs,
// clipped probabilities, rows far from zero), each beside a naive forward reference written from the documented
// formula (plain loops, double accumulation), not from the kernels.
#include "autograd/op_cases.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "core/error.h"
#include "core/scalar_ops.h"

namespace toy::testing {
namespace {

constexpr int64_t kB = 2, kT = 5, kE = 7, kH = 3, kV = 11;

// ---- input builders -------------------------------------------------------------------------------------------

// The exported builders (op_cases.h), under the short names the cases use.
Tensor uniform(Rng& rng, const Shape& s, float lo = -1.0f, float hi = 1.0f) { return random_uniform(rng, s, lo, hi); }
Tensor ids(Rng& rng, const Shape& s, int64_t lo, int64_t hi) { return random_ids(rng, s, lo, hi); }

// Values with |x| in [0.1, 1] and a random sign: away from relu's kink by far more than the gradcheck step.
Tensor away_from_zero(Rng& rng, const Shape& s) {
  Tensor t = Tensor::empty(s);
  for (int64_t i = 0; i < t.numel(); ++i) {
    const float mag = rng.uniform(0.1f, 1.0f);
    t[i] = rng.uniform01() < 0.5f ? -mag : mag;
  }
  return t;
}

// Saturated activations: a third of the entries near +30, a third near -30, the rest moderate.
Tensor saturated(Rng& rng, const Shape& s) {
  Tensor t = Tensor::empty(s);
  for (int64_t i = 0; i < t.numel(); ++i) {
    const float noise = rng.uniform(-0.5f, 0.5f);
    t[i] = i % 3 == 0 ? 30.0f + noise : i % 3 == 1 ? -30.0f + noise : 2.0f * noise;
  }
  return t;
}

// ---- naive references (double accumulation) ---------------------------------------------------------------------

Tensor from_double(const Shape& s, const std::vector<double>& v) {
  Tensor t = Tensor::empty(s);
  for (int64_t i = 0; i < t.numel(); ++i) t[i] = static_cast<float>(v[static_cast<size_t>(i)]);
  return t;
}

Tensor ref_embedding(const Tensor& idx, const Tensor& table) {
  const int64_t e = table.dim(1);
  std::vector<double> out;
  for (int64_t i = 0; i < idx.numel(); ++i)
    for (int64_t j = 0; j < e; ++j) out.push_back(table[static_cast<int64_t>(idx[i]) * e + j]);
  return from_double(idx.shape().append(e), out);
}

// a + b with numpy broadcasting of the smaller operand (its shape padded with leading 1s; an axis of 1 repeats):
// out[i] = big[i] + small[the index of i with small's broadcast axes at 0].
Tensor ref_add(const Tensor& a, const Tensor& b) {
  const bool a_big = a.numel() > b.numel() || (a.numel() == b.numel() && a.rank() >= b.rank());
  const Tensor& big = a_big ? a : b;
  const Tensor& small = a_big ? b : a;
  const int rank = big.rank(), pad = rank - small.rank();
  std::vector<double> out(static_cast<size_t>(big.numel()));
  for (int64_t i = 0; i < big.numel(); ++i) {
    int64_t rest = i, j = 0, stride = 1;
    for (int ax = rank - 1; ax >= pad; --ax) {  // small's flat index, from the last axis
      const int64_t idx = rest % big.shape()[ax], n = small.shape()[ax - pad];
      rest /= big.shape()[ax];
      j += (n == 1 ? 0 : idx) * stride;
      stride *= n;
    }
    out[static_cast<size_t>(i)] = static_cast<double>(big[i]) + static_cast<double>(small[j]);
  }
  return from_double(big.shape(), out);
}

// op(A) · op(B) over the last two axes; a 2-D operand is shared by every batch item of the other.
Tensor ref_matmul(const Tensor& a, const Tensor& b, bool ta, bool tb) {
  const Shape &sa = a.shape(), &sb = b.shape();
  const int64_t ar = sa[-2], ac = sa[-1], br = sb[-2], bc = sb[-1];
  const int64_t m = ta ? ac : ar, k = ta ? ar : ac, n = tb ? br : bc;
  const int64_t ba = sa.prod(0, sa.rank() - 2), bb = sb.prod(0, sb.rank() - 2), batch = std::max(ba, bb);
  const Shape& lead_src = sa.rank() >= sb.rank() ? sa : sb;
  Shape out_shape;
  for (int i = 0; i < lead_src.rank() - 2; ++i) out_shape = out_shape.append(lead_src[i]);
  out_shape = out_shape.append(m).append(n);
  std::vector<double> out;
  for (int64_t bi = 0; bi < batch; ++bi) {
    const int64_t oa = (ba == 1 ? 0 : bi) * ar * ac, ob = (bb == 1 ? 0 : bi) * br * bc;
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double s = 0;
        for (int64_t p = 0; p < k; ++p) {
          const double x = a[oa + (ta ? p * ac + i : i * ac + p)];
          const double y = b[ob + (tb ? j * bc + p : p * bc + j)];
          s += x * y;
        }
        out.push_back(s);
      }
  }
  return from_double(out_shape, out);
}

// softmax over the last axis of x + (1 - mask) * -1e9, the mask repeating over the leading axes.
Tensor ref_softmax(const Tensor& x, const Tensor& mask) {
  const int64_t n = x.shape()[-1], rows = x.numel() / n;
  const int64_t mask_rows = mask.defined() ? mask.numel() / n : 0;
  std::vector<double> out(static_cast<size_t>(x.numel()));
  for (int64_t r = 0; r < rows; ++r) {
    std::vector<double> z(static_cast<size_t>(n));
    double mx = -INFINITY;
    bool any_kept = !mask.defined();
    for (int64_t j = 0; j < n; ++j) {
      double v = x[r * n + j];
      if (mask.defined()) v += (1.0 - mask[(r % mask_rows) * n + j]) * -1e9;
      if (mask.defined() && mask[(r % mask_rows) * n + j] != 0.0f) any_kept = true;
      z[static_cast<size_t>(j)] = v;
      mx = std::max(mx, v);
    }
    if (!any_kept) continue;  // a fully masked row: all-zero weights (documented in autograd/ops.h)
    double s = 0;
    for (double& v : z) s += (v = std::exp(v - mx));
    for (int64_t j = 0; j < n; ++j) out[static_cast<size_t>(r * n + j)] = z[static_cast<size_t>(j)] / s;
  }
  return from_double(x.shape(), out);
}

// x [..., N] -> [..., len]: columns start .. start + len - 1.
Tensor ref_slice_last(const Tensor& x, int64_t start, int64_t len) {
  const int64_t n = x.shape()[-1], rows = x.numel() / n;
  std::vector<double> out;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < len; ++j) out.push_back(x[r * n + start + j]);
  return from_double(x.shape().with_last(len), out);
}

// Inputs [..., N_i] -> [..., sum N_i]: row r is input 0's row r, then input 1's row r, ...
Tensor ref_concat_last(const std::vector<Tensor>& xs) {
  const int64_t rows = xs[0].numel() / xs[0].shape()[-1];
  int64_t total = 0;
  for (const Tensor& x : xs) total += x.shape()[-1];
  std::vector<double> out;
  for (int64_t r = 0; r < rows; ++r)
    for (const Tensor& x : xs) {
      const int64_t n = x.shape()[-1];
      for (int64_t j = 0; j < n; ++j) out.push_back(x[r * n + j]);
    }
  return from_double(xs[0].shape().with_last(total), out);
}

// Zero-padded cross-correlation of each row with w: y[i] = sum_j w[j] x[i + j - pad_left], written as an explicit
// padded copy of the row (independent of the kernels' bounds tests).
Tensor ref_conv1d(const Tensor& x, const Tensor& w, int64_t pad_left, int64_t l_out) {
  const int64_t l = x.shape()[-1], k = w.numel(), rows = x.numel() / l;
  std::vector<double> out;
  for (int64_t r = 0; r < rows; ++r) {
    std::vector<double> padded(static_cast<size_t>(pad_left + l + k), 0.0);
    for (int64_t p = 0; p < l; ++p) padded[static_cast<size_t>(pad_left + p)] = x[r * l + p];
    for (int64_t i = 0; i < l_out; ++i) {
      double s = 0;
      for (int64_t j = 0; j < k; ++j) s += static_cast<double>(w[j]) * padded[static_cast<size_t>(i + j)];
      out.push_back(s);
    }
  }
  return from_double(x.shape().with_last(l_out), out);
}

// Per row: mean and population variance in double (two passes), (x - mean) / sqrt(var + eps) * gamma + beta, with
// gamma and beta [N] or [G, N] (row g for the g-th of G equal consecutive groups of rows).
Tensor ref_layer_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta, double eps) {
  const int64_t n = x.shape()[-1], rows = x.numel() / n, per = rows / (gamma.numel() / n);
  std::vector<double> out;
  for (int64_t r = 0; r < rows; ++r) {
    double mean = 0, var = 0;
    for (int64_t j = 0; j < n; ++j) mean += x[r * n + j];
    mean /= static_cast<double>(n);
    for (int64_t j = 0; j < n; ++j) var += (x[r * n + j] - mean) * (x[r * n + j] - mean);
    var /= static_cast<double>(n);
    const double sd = std::sqrt(var + eps);
    const int64_t p = r / per * n;
    for (int64_t j = 0; j < n; ++j)
      out.push_back((x[r * n + j] - mean) / sd * static_cast<double>(gamma[p + j]) + static_cast<double>(beta[p + j]));
  }
  return from_double(x.shape(), out);
}

template <class F>
Tensor ref_map(const Tensor& x, F f) {
  std::vector<double> out;
  for (int64_t i = 0; i < x.numel(); ++i) out.push_back(f(static_cast<double>(x[i])));
  return from_double(x.shape(), out);
}

Tensor ref_sum(const Tensor& x, bool mean) {
  double s = 0;
  for (int64_t i = 0; i < x.numel(); ++i) s += x[i];
  return from_double(Shape{}, {mean ? s / static_cast<double>(x.numel()) : s});
}

// mean_r (log sum_k exp z_rk - z_r[y_r]), with the max subtracted in double.
Tensor ref_ce_logits(const Tensor& z, const Tensor& t) {
  const int64_t v = z.shape()[-1], rows = t.numel();
  double total = 0;
  for (int64_t r = 0; r < rows; ++r) {
    double mx = -INFINITY;
    for (int64_t k = 0; k < v; ++k) mx = std::max(mx, static_cast<double>(z[r * v + k]));
    double s = 0;
    for (int64_t k = 0; k < v; ++k) s += std::exp(z[r * v + k] - mx);
    total += mx + std::log(s) - z[r * v + static_cast<int64_t>(t[r])];
  }
  return from_double(Shape{}, {total / static_cast<double>(rows)});
}

// Keras' fallback: pc = clip(p, 1e-7, 1 - 1e-7); mean_r -log(pc_y / sum_k pc_k).
Tensor ref_ce_probs(const Tensor& p, const Tensor& t) {
  const double lo = 1e-7, hi = 1.0 - 1e-7;
  const auto clip = [&](double x) { return std::min(std::max(x, lo), hi); };
  const int64_t v = p.shape()[-1], rows = t.numel();
  double total = 0;
  for (int64_t r = 0; r < rows; ++r) {
    double s = 0;
    for (int64_t k = 0; k < v; ++k) s += clip(p[r * v + k]);
    total += -std::log(clip(p[r * v + static_cast<int64_t>(t[r])]) / s);
  }
  return from_double(Shape{}, {total / static_cast<double>(rows)});
}

// Independent models stacked on the leading axis: the reference of each group's own mean, as a [groups] tensor.
Tensor ref_grouped(const Tensor& x, const Tensor& t, int64_t groups, Tensor (*ref)(const Tensor&, const Tensor&)) {
  const int64_t v = x.shape()[-1], rows = t.numel(), per = rows / groups;
  std::vector<float> out;
  for (int64_t g = 0; g < groups; ++g) {
    std::vector<float> xs(x.data() + g * per * v, x.data() + (g + 1) * per * v);
    std::vector<float> ts(t.data() + g * per, t.data() + (g + 1) * per);
    out.push_back(ref(Tensor::from(Shape{per, v}, xs), Tensor::from(Shape{per}, ts))[0]);
  }
  return Tensor::from(Shape{groups}, out);
}

// ---- the cases --------------------------------------------------------------------------------------------------

using Vars = std::vector<Var>;
using Gen = std::function<Inputs(Rng&, const Shapes&)>;
using Ref = std::function<Tensor(const Inputs&)>;
// A function, not a namespace-scope vector: the tests build the registry during static initialization.
std::vector<int64_t> all_sizes() { return {std::begin(kOpSizes), std::end(kOpSizes)}; }

// Uniform floats in [lo, hi) for every input.
Gen uniform_inputs(float lo = -1.0f, float hi = 1.0f) {
  return [=](Rng& r, const Shapes& s) {
    Inputs in;
    for (const Shape& x : s) in.push_back(uniform(r, x, lo, hi));
    return in;
  };
}

// Float inputs in [lo, hi), then ids below the last axis of input 0 (cross-entropy's logits/probs and targets).
Gen float_and_targets(float lo, float hi) {
  return [=](Rng& r, const Shapes& s) { return Inputs{uniform(r, s[0], lo, hi), ids(r, s[1], 0, s[0][-1])}; };
}

// Uniform floats in [-1, 1), or in [0, 1) once an axis reaches 1025: an output that sums ~1025 products of random
// sign can land near zero, where summation order alone (Eigen vs cuBLAS) exceeds parity's 1e-5 + 1e-4 |cpu|;
// positive terms keep that error relative (as tests/test_parity.cpp's gemm kernel test does at k = 1025).
Gen long_sum_inputs() {
  return [](Rng& r, const Shapes& s) {
    int64_t longest = 0;
    for (const Shape& x : s)
      for (int64_t d : x.dims()) longest = std::max(longest, d);
    return uniform_inputs(longest >= 1025 ? 0.0f : -1.0f, 1.0f)(r, s);
  };
}

OpCase make(std::string name, std::string formula, std::vector<std::string> input_names, std::vector<bool> diff,
            Shapes shapes, Gen inputs, GradFn fn, Ref reference) {
  OpCase c;
  c.name = std::move(name);
  c.formula = std::move(formula);
  c.input_names = std::move(input_names);
  c.differentiable = std::move(diff);
  c.shapes = std::move(shapes);
  c.make_inputs = std::move(inputs);
  c.fn = std::move(fn);
  c.reference = std::move(reference);
  return c;
}

OpCase sized(OpCase c, std::function<Shapes(int64_t)> f, std::vector<int64_t> sizes = all_sizes()) {
  c.sized = std::move(f);
  c.sizes = std::move(sizes);
  return c;
}

void add_embedding_cases(std::vector<OpCase>& cases) {
  const char* formula = "ids [...], table [V,E] -> table[ids] [..., E]";
  const auto sizes = [](int64_t n) { return Shapes{Shape{n}, Shape{kV, 3}}; };
  cases.push_back(sized(
      make(
          "embedding/plain", formula, {"ids", "table"}, {false, true}, {Shape{kB, kT}, Shape{kV, kE}},
          [](Rng& r, const Shapes& s) {
            Tensor i = ids(r, s[0], 0, s[1][0]);
            if (i.numel() > 7) i[7] = i[2];  // a repeated id: its table row accumulates two gradients
            return Inputs{i, uniform(r, s[1])};
          },
          [](const Vars& v) { return embedding(v[0], v[1]); },
          [](const Inputs& in) { return ref_embedding(in[0], in[1]); }),
      sizes));

  // Padding row 0: ids hold it at flat positions 1, 4 and 8. The forward reads the row like any other, the
  // backward must not touch it, so the gradcheck skips the row (its finite difference is not zero) and
  // tests/test_ops.cpp checks that its analytic gradient is exactly zero.
  OpCase pad = make(
      "embedding/padding_idx", "ids [...], table [V,E] -> table[ids]; row 0 is padding (no gradient)",
      {"ids", "table"}, {false, true}, {Shape{kB, kT}, Shape{kV, kE}},
      [](Rng& r, const Shapes& s) {
        Tensor i = ids(r, s[0], 1, s[1][0]);
        for (int64_t p : {1, 4, 8})
          if (p < i.numel()) i[p] = 0.0f;
        return Inputs{i, uniform(r, s[1])};
      },
      [](const Vars& v) { return embedding(v[0], v[1], /*padding_idx=*/0); },
      [](const Inputs& in) { return ref_embedding(in[0], in[1]); });
  pad.skip = [](const Inputs& in, size_t input, int64_t j) { return input == 1 && j < in[1].shape()[-1]; };
  cases.push_back(sized(std::move(pad), sizes));
}

void add_add_cases(std::vector<OpCase>& cases) {
  const char* formula = "a [...], b [a's shape, a suffix of it, or it with 1s on one run of axes] (or the other "
                        "way round) -> a + b";
  const auto fn = [](const Vars& v) { return add(v[0], v[1]); };
  const auto ref = [](const Inputs& in) { return ref_add(in[0], in[1]); };
  cases.push_back(sized(make("add/same_shape", formula, {"a", "b"}, {true, true}, {Shape{kB, kT, kE}, Shape{kB, kT, kE}},
                             uniform_inputs(), fn, ref),
                        [](int64_t n) { return Shapes{Shape{n}, Shape{n}}; }));
  cases.push_back(sized(make("add/broadcast", formula, {"a", "b"}, {true, true}, {Shape{kB, kT, kE}, Shape{kT, kE}},
                             uniform_inputs(), fn, ref),
                        [](int64_t n) { return Shapes{Shape{3, n}, Shape{n}}; }));
  cases.push_back(sized(make("add/small_first", formula, {"a", "b"}, {true, true}, {Shape{kE}, Shape{kB, kT, kE}},
                             uniform_inputs(), fn, ref),
                        [](int64_t n) { return Shapes{Shape{n}, Shape{3, n}}; }));
  // A bias per stacked model: b [M, 1, F] over the rows of a [M, R, F] (db sums each model's n rows).
  cases.push_back(sized(make("add/middle_axis", formula, {"a", "b"}, {true, true},
                             {Shape{kB, kT, kE}, Shape{kB, 1, kE}}, uniform_inputs(), fn, ref),
                        [](int64_t n) { return Shapes{Shape{3, n, 4}, Shape{3, 1, 4}}; }));
  // Two broadcast axes in one run, the smaller operand first: [B, 1, 1, E] + [B, T, H, E].
  cases.push_back(make("add/middle_run_small_first", formula, {"a", "b"}, {true, true},
                       {Shape{kB, 1, 1, kE}, Shape{kB, kT, kH, kE}}, uniform_inputs(), fn, ref));
}

void add_scale_cases(std::vector<OpCase>& cases) {
  cases.push_back(sized(
      make("scale", "x -> -0.37 x", {"x"}, {true}, {Shape{kB, kT, kE}}, uniform_inputs(),
           [](const Vars& v) { return scale(v[0], -0.37f); },
           [](const Inputs& in) { return ref_map(in[0], [](double x) { return x * static_cast<double>(-0.37f); }); }),
      [](int64_t n) { return Shapes{Shape{n}}; }));
}

void add_matmul_cases(std::vector<OpCase>& cases) {
  // Shapes as a function of one axis e (the inner dimension, or the output columns), its default, the flags.
  struct Spec {
    const char* name;
    Shapes (*shapes)(int64_t e);
    int64_t e;
    bool ta, tb;
    const char* formula;
  };
  const Spec specs[] = {
      {"matmul/2d", [](int64_t e) { return Shapes{Shape{kT, e}, Shape{e, kH}}; }, kE, false, false,
       "a [...,M,K], b [K,N] or [...,K,N] -> a·b"},
      // [B,T,E] x [E,H]: the batch folds into the rows of one product.
      {"matmul/folded", [](int64_t e) { return Shapes{Shape{kB, kT, e}, Shape{e, kH}}; }, kE, false, false,
       "a [B,T,E], b [E,H] -> a·b [B,T,H] (the batch folds into the rows)"},
      // Attention scores: Q [B,T,H] x K [B,T,H]ᵀ -> [B,T,T].
      {"matmul/batched_trans_b", [](int64_t e) { return Shapes{Shape{kB, kT, e}, Shape{kB, kT, e}}; }, kH, false,
       true, "a [...,M,K], b [...,N,K] -> a·bᵀ (attention scores)"},
      // Attention output: weights [B,T,T] x V [B,T,V] -> [B,T,V].
      {"matmul/batched", [](int64_t e) { return Shapes{Shape{kB, kT, kT}, Shape{kB, kT, e}}; }, kV, false, false,
       "a [B,M,K], b [B,K,N] -> a·b [B,M,N]"},
      {"matmul/trans_a", [](int64_t e) { return Shapes{Shape{e, kT}, Shape{e, kH}}; }, kE, true, false,
       "a [K,M], b [K,N] -> aᵀ·b"},
      {"matmul/trans_a_trans_b", [](int64_t e) { return Shapes{Shape{e, kT}, Shape{kH, e}}; }, kE, true, true,
       "a [K,M], b [N,K] -> aᵀ·bᵀ"},
      {"matmul/batched_trans_a", [](int64_t e) { return Shapes{Shape{kB, e, kT}, Shape{kB, e, kH}}; }, kE, true,
       false, "a [B,K,M], b [B,K,N] -> aᵀ·b"},
      // A batched and transposed, B shared: no folding, B's gradient sums over the batch item by item.
      {"matmul/batched_trans_a_shared_b", [](int64_t e) { return Shapes{Shape{kB, e, kT}, Shape{e, kH}}; }, kE, true,
       false, "a [B,K,M], b [K,N] -> aᵀ·b (b shared by the batch)"},
      // A shared, B batched: [T,E] x [B,E,H] -> [B,T,H].
      {"matmul/2d_x_batched", [](int64_t e) { return Shapes{Shape{kT, e}, Shape{kB, e, kH}}; }, kE, false, false,
       "a [M,K], b [B,K,N] -> a·b [B,M,N] (a shared)"},
      {"matmul/2d_x_batched_trans_b", [](int64_t e) { return Shapes{Shape{kT, e}, Shape{kB, kH, e}}; }, kE, false,
       true, "a [M,K], b [B,N,K] -> a·bᵀ [B,M,N] (a shared)"},
      // Two batch axes.
      {"matmul/batched_4d", [](int64_t e) { return Shapes{Shape{kB, kH, kT, e}, Shape{kB, kH, e, kT}}; }, kE, false,
       false, "a [B,H,M,K], b [B,H,K,N] -> a·b (two batch axes)"},
  };
  for (const Spec& s : specs) {
    const bool ta = s.ta, tb = s.tb;
    OpCase c = sized(make(s.name, s.formula, {"a", "b"}, {true, true}, s.shapes(s.e), long_sum_inputs(),
                          [=](const Vars& v) { return matmul(v[0], v[1], ta, tb); },
                          [=](const Inputs& in) { return ref_matmul(in[0], in[1], ta, tb); }),
                     s.shapes);
    // The loss is linear in each single entry of a or b, so a central difference is exact at any step: a wide one
    // keeps float rounding of the outputs (sums of up to 1025 products) out of the numeric gradient.
    c.grad.eps = 0.25;
    // Sums of 1025 float products of magnitude ~1/3 round to a few 1e-5.
    c.fwd_atol = 1e-4;
    cases.push_back(std::move(c));
  }
}

// The last two keys of each row masked: [1, ..., 1, 0, 0] of length n.
Tensor last_two_keys_masked(int64_t n) {
  Tensor m = Tensor::full(Shape{n}, 1.0f);
  for (int64_t j = std::max<int64_t>(n - 2, 0); j < n; ++j) m[j] = 0.0f;
  return m;
}

void add_softmax_cases(std::vector<OpCase>& cases) {
  cases.push_back(sized(make("softmax/plain", "x [..., N] -> softmax over the last axis", {"x"}, {true},
                             {Shape{kB, kT, kE}}, uniform_inputs(-2.0f, 2.0f),
                             [](const Vars& v) { return softmax(v[0]); },
                             [](const Inputs& in) { return ref_softmax(in[0], Tensor()); }),
                        [](int64_t n) { return Shapes{Shape{3, n}}; }));

  // Causal [T,T] mask on scores [B,T,T]; masked entries (key j > query i) get zero gradient and are skipped.
  OpCase causal = make(
      "softmax/causal", "x [..., T, T] -> softmax(x + (1 - tril)·-1e9) over the last axis", {"x"}, {true},
      {Shape{kB, kT, kT}}, uniform_inputs(-2.0f, 2.0f),
      [](const Vars& v) { return softmax(v[0], causal_mask(v[0].shape()[-1], v[0].device())); },
      [](const Inputs& in) { return ref_softmax(in[0], causal_mask(in[0].shape()[-1])); });
  causal.skip = [](const Inputs& in, size_t, int64_t j) {
    const int64_t t = in[0].shape()[-1];
    return j % t > (j / t) % t;
  };
  cases.push_back(sized(std::move(causal), [](int64_t n) { return Shapes{Shape{1, n, n}}; }, {1, 33}));

  // A [T] key-padding mask (the last two keys masked) repeated over every row of [B,T,T].
  OpCase keys = make(
      "softmax/key_mask", "x [..., N] -> softmax over the last axis, its last two entries masked", {"x"}, {true},
      {Shape{kB, kT, kT}}, uniform_inputs(-2.0f, 2.0f),
      [](const Vars& v) { return softmax(v[0], last_two_keys_masked(v[0].shape()[-1]).to(v[0].device())); },
      [](const Inputs& in) { return ref_softmax(in[0], last_two_keys_masked(in[0].shape()[-1])); });
  keys.skip = [](const Inputs& in, size_t, int64_t j) {
    const int64_t n = in[0].shape()[-1];
    return j % n >= n - 2;
  };
  cases.push_back(sized(std::move(keys), [](int64_t n) { return Shapes{Shape{3, n}}; }, {33, 1025}));

  cases.push_back(sized(make("softmax/saturated", "x [..., N], |x| near 30 -> softmax over the last axis", {"x"},
                             {true}, {Shape{kB, kT, kE}},
                             [](Rng& r, const Shapes& s) { return Inputs{saturated(r, s[0])}; },
                             [](const Vars& v) { return softmax(v[0]); },
                             [](const Inputs& in) { return ref_softmax(in[0], Tensor()); }),
                        [](int64_t n) { return Shapes{Shape{3, n}}; }));

  // A full [B,T,T] mask (per-sequence key padding and causal): sequence 1 has its last two keys padded, and rows
  // (0, 3) and (1, 0) mask every key. Those rows are all zero with zero gradient: the finite differences there are
  // exactly 0 too (x - 1e9 rounds to -1e9 whatever x is), so nothing is skipped.
  const auto full_mask = [] {
    Tensor m = Tensor::full(Shape{kB, kT, kT}, 1.0f);
    for (int64_t i = 0; i < kT; ++i)
      for (int64_t j = 3; j < kT; ++j) m[(kT + i) * kT + j] = 0.0f;
    for (int64_t j = 0; j < kT; ++j) m[3 * kT + j] = m[kT * kT + j] = 0.0f;
    return m;
  };
  cases.push_back(make("softmax/fully_masked_rows",
                       "x [2,5,5], a fixed [2,5,5] mask with two fully masked rows -> all-zero rows there", {"x"},
                       {true}, {Shape{kB, kT, kT}}, uniform_inputs(-2.0f, 2.0f),
                       [=](const Vars& v) { return softmax(v[0], full_mask().to(v[0].device())); },
                       [=](const Inputs& in) { return ref_softmax(in[0], full_mask()); }));
}

// slice_last: a middle block, the last column, the whole axis; a 1-D input.
void add_slice_last_cases(std::vector<OpCase>& cases) {
  struct Spec {
    const char* name;
    const char* formula;
    Shape s;
    Shapes (*sized)(int64_t n);
    std::vector<int64_t> sizes;
    int64_t (*start)(int64_t n);
    int64_t (*len)(int64_t n);
  };
  const Spec specs[] = {
      {"slice_last/middle", "x [..., N] -> x[..., 2:5]", Shape{kB, kT, kE},
       [](int64_t n) { return Shapes{Shape{3, n}}; }, {33, 1025}, [](int64_t) -> int64_t { return 2; },
       [](int64_t) -> int64_t { return 3; }},
      {"slice_last/last_column", "x [..., N] -> x[..., N-1:N]", Shape{kB, kT, kE},
       [](int64_t n) { return Shapes{Shape{3, n}}; }, all_sizes(), [](int64_t n) { return n - 1; },
       [](int64_t) -> int64_t { return 1; }},
      {"slice_last/whole", "x [..., N] -> x[..., 0:N]", Shape{kB, kT, kE},
       [](int64_t n) { return Shapes{Shape{3, n}}; }, all_sizes(), [](int64_t) -> int64_t { return 0; },
       [](int64_t n) { return n; }},
      {"slice_last/1d", "x [N] -> x[4:9]", Shape{kV}, [](int64_t n) { return Shapes{Shape{n}}; }, {33, 1025},
       [](int64_t) -> int64_t { return 4; }, [](int64_t) -> int64_t { return 5; }},
  };
  for (const Spec& sp : specs) {
    const auto start = sp.start, len = sp.len;
    cases.push_back(sized(make(sp.name, sp.formula, {"x"}, {true}, {sp.s}, uniform_inputs(),
                               [=](const Vars& v) {
                                 const int64_t n = v[0].shape()[-1];
                                 return slice_last(v[0], start(n), len(n));
                               },
                               [=](const Inputs& in) {
                                 const int64_t n = in[0].shape()[-1];
                                 return ref_slice_last(in[0], start(n), len(n));
                               }),
                          sp.sized, sp.sizes));
  }
}

// concat_last: three inputs of different widths; one constant input among parameters; a single input; and the
// head split/merge round trip (slices of one input concatenated back in another order).
void add_concat_last_cases(std::vector<OpCase>& cases) {
  const char* formula = "inputs [..., N_i] -> [..., sum N_i]";
  const auto ref = [](const Inputs& in) { return ref_concat_last(in); };
  cases.push_back(sized(make("concat_last/three", formula, {"a", "b", "c"}, {true, true, true},
                             {Shape{kB, kT, 3}, Shape{kB, kT, 1}, Shape{kB, kT, 4}}, uniform_inputs(),
                             [](const Vars& v) { return concat_last({v[0], v[1], v[2]}); }, ref),
                        [](int64_t n) { return Shapes{Shape{3, n}, Shape{3, 1}, Shape{3, 4}}; }));
  cases.push_back(sized(make("concat_last/constant_input", formula, {"a", "b"}, {false, true},
                             {Shape{kT, kH}, Shape{kT, 2}}, uniform_inputs(),
                             [](const Vars& v) { return concat_last({v[0], v[1]}); }, ref),
                        [](int64_t n) { return Shapes{Shape{3, n}, Shape{3, 2}}; }));
  cases.push_back(sized(make("concat_last/one", formula, {"a"}, {true}, {Shape{kB, kT, kE}}, uniform_inputs(),
                             [](const Vars& v) { return concat_last({v[0]}); }, ref),
                        [](int64_t n) { return Shapes{Shape{3, n}}; }));
  cases.push_back(sized(
      make("concat_last/swap_heads", "x [..., N] -> concat(x[..., N/2:], x[..., :N/2]) (split and merge heads)",
           {"x"}, {true}, {Shape{kB, kT, 6}}, uniform_inputs(),
           [](const Vars& v) {
             const int64_t n = v[0].shape()[-1], h = n / 2;
             return concat_last({slice_last(v[0], h, n - h), slice_last(v[0], 0, h)});
           },
           [](const Inputs& in) {
             const int64_t n = in[0].shape()[-1], h = n / 2;
             return ref_concat_last({ref_slice_last(in[0], h, n - h), ref_slice_last(in[0], 0, h)});
           }),
      [](int64_t n) { return Shapes{Shape{3, n}}; }, {33, 1025}));
}

// conv1d: valid with an even kernel, same with even and odd kernels, full, a kernel as long as the input, and a
// kernel that is not differentiable (a fixed Gaussian smoothing a signal).
void add_conv1d_cases(std::vector<OpCase>& cases) {
  constexpr int64_t kL = 13;
  struct Spec {
    const char* name;
    Shape x;
    int64_t k;  // 0: as long as the input
    Conv1dPadding pad;
    bool kernel_grad;
    Shape (*sized)(int64_t n);
    std::vector<int64_t> sizes;
  };
  const auto rows3 = [](int64_t n) { return Shape{3, n}; };
  const auto one_row = [](int64_t n) { return Shape{n}; };
  const Spec specs[] = {{"conv1d/valid", Shape{kB, kT, kL}, 4, Conv1dPadding::Valid, true, rows3, {33, 1025}},
                        {"conv1d/same_even", Shape{kB, kL}, 4, Conv1dPadding::Same, true, rows3, all_sizes()},
                        {"conv1d/same_odd", Shape{kB, kT, kL}, 5, Conv1dPadding::Same, true, rows3, all_sizes()},
                        {"conv1d/full", Shape{kT, kL}, 3, Conv1dPadding::Full, true, rows3, all_sizes()},
                        {"conv1d/kernel_as_long_as_input", Shape{kL}, 0, Conv1dPadding::Valid, true, one_row,
                         all_sizes()},
                        {"conv1d/fixed_kernel", Shape{kL}, 8, Conv1dPadding::Valid, false, one_row, {33, 1025}}};
  for (const Spec& sp : specs) {
    const int64_t k = sp.k;
    const Conv1dPadding pad = sp.pad;
    const auto shapes = [k](Shape x) { return Shapes{x, Shape{k ? k : x[-1]}}; };
    const auto make_sized = sp.sized;
    const char* mode = pad == Conv1dPadding::Valid ? "valid" : pad == Conv1dPadding::Same ? "same" : "full";
    OpCase c = sized(
        make(sp.name, fmt::format("x [..., L], kernel [K] -> {} cross-correlation [..., L_out]", mode),
             {"x", "kernel"}, {true, sp.kernel_grad}, shapes(sp.x), long_sum_inputs(),
             [=](const Vars& v) { return conv1d(v[0], v[1], pad); },
             [=](const Inputs& in) {
               const int64_t l = in[0].shape()[-1], kk = in[1].numel();
               const int64_t pad_left = pad == Conv1dPadding::Valid ? 0 : pad == Conv1dPadding::Same ? (kk - 1) / 2
                                                                                                     : kk - 1;
               const int64_t l_out = pad == Conv1dPadding::Valid  ? l - kk + 1
                                     : pad == Conv1dPadding::Same ? l
                                                                  : l + kk - 1;
               return ref_conv1d(in[0], in[1], pad_left, l_out);
             }),
        [=](int64_t n) { return shapes(make_sized(n)); }, sp.sizes);
    // Linear in each single entry of x or the kernel (as matmul): exact central differences at a wide step, which
    // keeps the rounding of 1025-term sums out of the numeric gradient.
    c.grad.eps = 0.25;
    c.fwd_atol = 1e-4;
    cases.push_back(std::move(c));
  }
}

// layer_norm: rank-3 x (the last axis at 1 and 33), gamma and beta per group of rows, a wide row (1025, a block per row on the GPU), rank-2 x (1, 33,
// 1025 rows into dgamma and dbeta), gamma and beta constant, x constant, rows far from zero (the two-pass variance),
// rows whose variance is far below eps.
void add_layer_norm_cases(std::vector<OpCase>& cases) {
  const char* formula = "x [..., N], gamma [N], beta [N] -> (x - mean) / sqrt(var + eps) * gamma + beta per row";
  // x = offset + U(-spread, spread) rounded to a multiple of 2^-bits, gamma U(-1.5, 1.5) (signs too), beta
  // U(-0.5, 0.5). On that grid every row sum is exact in float (under 2^24 units), so the mean is rounded once: the
  // CPU's sequential sum and the GPU's tree give the same mean, and a gradcheck step on the grid keeps the perturbed
  // rows on it (the sum's rounding does not change between the two sides of a central difference).
  const auto inputs = [](float offset, float spread, int bits) -> Gen {
    return [=](Rng& r, const Shapes& s) {
      Tensor x = uniform(r, s[0], offset - spread, offset + spread);
      for (int64_t i = 0; i < x.numel(); ++i) x[i] = std::ldexp(std::round(std::ldexp(x[i], bits)), -bits);
      return Inputs{x, uniform(r, s[1], -1.5f, 1.5f), uniform(r, s[2], -0.5f, 0.5f)};
    };
  };
  const auto fn = [](float eps) { return [=](const Vars& v) { return layer_norm(v[0], v[1], v[2], eps); }; };
  const auto ref = [](float eps) {
    return [=](const Inputs& in) { return ref_layer_norm(in[0], in[1], in[2], static_cast<double>(eps)); };
  };
  const auto params = [](Shape x) {
    const int64_t n = x[-1];
    return Shapes{x, Shape{n}, Shape{n}};
  };
  const auto rows3 = [=](int64_t n) { return params(Shape{3, n}); };   // the normalized axis
  const auto rows_n = [=](int64_t n) { return params(Shape{n, kE}); };  // the rows summed into dgamma, dbeta
  // A central-difference step of 2^-step_bits, on the inputs' grid. The truncation error grows as step^2 times the
  // curvature, which falls as 1/N (one entry moves the row's statistics by 1/N); the float rounding of var and y
  // adds ~sqrt(N) ulp / step. Rows of spread 2: 2^-8 up to N = 33 (errors up to 3.1e-4 over 30 seeds of
  // `toyformer gradcheck`), 2^-3 at N = 1025 (up to 1.4e-4; at 2^-6 the rounding alone reached 1.1e-3).
  const auto with_step = [](OpCase c, int step_bits) {
    c.grad.eps = std::ldexp(1.0, -step_bits);
    return c;
  };
  const std::vector<std::string> names{"x", "gamma", "beta"};
  const float keras = 1e-3f, torch = 1e-5f;
  const Shape x3{kB, kT, kE};
  const std::vector<int64_t> narrow{1, 33};
  cases.push_back(with_step(sized(make("layer_norm/rank3", formula, names, {true, true, true}, params(x3),
                                       inputs(0.0f, 2.0f, 10), fn(keras), ref(keras)),
                                  rows3, narrow),
                            8));
  cases.push_back(with_step(make("layer_norm/wide", std::string(formula) + ", N = 1025", names, {true, true, true},
                                 params(Shape{3, 1025}), inputs(0.0f, 2.0f, 10), fn(keras), ref(keras)),
                            3));
  cases.push_back(with_step(sized(make("layer_norm/rank2", std::string(formula) + ", eps 1e-5", names,
                                       {true, true, true}, params(Shape{kT, kE}), inputs(0.0f, 2.0f, 10), fn(torch),
                                       ref(torch)),
                                  rows_n),
                            8));
  // gamma, beta [G, N]: one row per model of a stack (x [G*B, T, N]); each group's rows summed into its dgamma row.
  const auto grouped = [](Shape x, int64_t g) { return Shapes{x, Shape{g, x[-1]}, Shape{g, x[-1]}}; };
  cases.push_back(with_step(sized(make("layer_norm/groups", std::string(formula) + "; gamma, beta [G, N]", names,
                                       {true, true, true}, grouped(Shape{3 * kB, kT, kE}, 3), inputs(0.0f, 2.0f, 10),
                                       fn(keras), ref(keras)),
                                  [=](int64_t n) { return grouped(Shape{3 * n, kE}, 3); }),
                            8));
  cases.push_back(with_step(sized(make("layer_norm/constant_params", std::string(formula) + "; gamma, beta constant",
                                       names, {true, false, false}, params(x3), inputs(0.0f, 2.0f, 10), fn(keras),
                                       ref(keras)),
                                  rows3, narrow),
                            8));
  cases.push_back(with_step(sized(make("layer_norm/constant_x", std::string(formula) + "; x constant", names,
                                       {false, true, true}, params(x3), inputs(0.0f, 2.0f, 10), fn(keras),
                                       ref(keras)),
                                  rows_n),
                            8));
  // Rows near 100: E[x^2] - mean^2 in float would lose ~1e-3 of the variance; the two passes lose nothing more than
  // the rounding of (x - mean)^2. N is a power of two (8, 32), so the mean (an exact sum over N) is exact too.
  cases.push_back(with_step(sized(make("layer_norm/offset", std::string(formula) + ", x near 100", names,
                                       {true, true, true}, params(Shape{kB, kT, 8}), inputs(100.0f, 2.0f, 10),
                                       fn(keras), ref(keras)),
                                  rows3, {1, 32}),
                            8));
  // Rows 0.5 +- 0.01, var ~3e-5 << eps = 1e-3: eps sets the scale (rstd ~31 rather than ~180), and with it the
  // gradients (up to ~40), so the step is 2^-10, a tenth of the spread. (At N = 1025 that step leaves rounding noise
  // of ~1e-2 in gradients of ~1: 7 of 30 seeds failed. The wide case covers that row length.)
  cases.push_back(with_step(sized(make("layer_norm/small_variance", std::string(formula) + ", var << eps", names,
                                       {true, true, true}, params(x3), inputs(0.5f, 0.01f, 12), fn(keras),
                                       ref(keras)),
                                  rows3, narrow),
                            10));
}

void add_unary_cases(std::vector<OpCase>& cases) {
  const auto sig = [](double x) { return 1.0 / (1.0 + std::exp(-x)); };
  const auto th = [](double x) { return std::tanh(x); };
  const Shapes s{Shape{kB, kT, kE}};
  const auto flat = [](int64_t n) { return Shapes{Shape{n}}; };
  const Gen sat = [](Rng& r, const Shapes& sh) { return Inputs{saturated(r, sh[0])}; };
  const char* fs = "x -> 1 / (1 + exp(-x))";
  const char* ft = "x -> tanh(x)";
  cases.push_back(sized(make("sigmoid/plain", fs, {"x"}, {true}, s, uniform_inputs(-3.0f, 3.0f),
                             [](const Vars& v) { return sigmoid(v[0]); },
                             [=](const Inputs& in) { return ref_map(in[0], sig); }),
                        flat));
  cases.push_back(sized(make("sigmoid/saturated", fs, {"x"}, {true}, s, sat,
                             [](const Vars& v) { return sigmoid(v[0]); },
                             [=](const Inputs& in) { return ref_map(in[0], sig); }),
                        flat));
  cases.push_back(sized(make("tanh/plain", ft, {"x"}, {true}, s, uniform_inputs(-2.0f, 2.0f),
                             [](const Vars& v) { return tanh(v[0]); },
                             [=](const Inputs& in) { return ref_map(in[0], th); }),
                        flat));
  cases.push_back(sized(make("tanh/saturated", ft, {"x"}, {true}, s, sat, [](const Vars& v) { return tanh(v[0]); },
                             [=](const Inputs& in) { return ref_map(in[0], th); }),
                        flat));

  // relu: three entries sit on or next to the kink (0, +1e-4, -1e-4); the gradcheck skips every |x| < 1e-2 (those
  // three), the forward reference still covers them.
  OpCase relu_case = make(
      "relu", "x -> max(x, 0) (entries next to the kink are not gradient-checked)", {"x"}, {true}, s,
      [](Rng& r, const Shapes& sh) {
        Tensor x = away_from_zero(r, sh[0]);
        if (x.numel() > 20) x[0] = 0.0f, x[10] = 1e-4f, x[20] = -1e-4f;  // (at size 1, x[0] alone would be skipped)
        return Inputs{x};
      },
      [](const Vars& v) { return relu(v[0]); },
      [](const Inputs& in) { return ref_map(in[0], [](double x) { return x > 0 ? x : 0.0; }); });
  relu_case.skip = [](const Inputs& in, size_t i, int64_t j) { return std::abs(in[i][j]) < 1e-2f; };
  cases.push_back(sized(std::move(relu_case), flat));
}

void add_reduce_cases(std::vector<OpCase>& cases) {
  const auto rows3 = [](int64_t n) { return Shapes{Shape{3, n}}; };
  cases.push_back(sized(make("sum", "x -> sum of all elements (shape ())", {"x"}, {true}, {Shape{kB, kT, kE}},
                             uniform_inputs(), [](const Vars& v) { return sum(v[0]); },
                             [](const Inputs& in) { return ref_sum(in[0], false); }),
                        rows3));
  cases.push_back(sized(make("mean", "x -> mean of all elements (shape ())", {"x"}, {true}, {Shape{kB, kT, kE}},
                             uniform_inputs(), [](const Vars& v) { return mean(v[0]); },
                             [](const Inputs& in) { return ref_sum(in[0], true); }),
                        rows3));
}

void add_cross_entropy_cases(std::vector<OpCase>& cases) {
  const char* f_logits = "z [..., V], targets [...] -> mean(logsumexp(z) - z[target])";
  const char* f_probs = "p [..., V] in (0,1), targets [...] -> mean(-log(clip(p)[target] / sum clip(p)))";
  const auto fn_logits = [](const Vars& v) { return sparse_ce_logits(v[0], v[1]); };
  const auto ref_logits = [](const Inputs& in) { return ref_ce_logits(in[0], in[1]); };
  const auto rows3 = [](int64_t n) { return Shapes{Shape{3, n}, Shape{3}}; };
  const auto grouped = [](int64_t n) { return Shapes{Shape{kB, 3, n}, Shape{kB, 3}}; };
  const Shapes dflt{Shape{kB, kT, kV}, Shape{kB, kT}};
  cases.push_back(sized(make("sparse_ce_logits/plain", f_logits, {"z", "targets"}, {true, false}, dflt,
                             float_and_targets(-3.0f, 3.0f), fn_logits, ref_logits),
                        rows3));

  // Large logits: rows shifted by +100 and -100 (exp would overflow / underflow without the max subtraction; the
  // loss is shift-invariant so it stays moderate) and rows spread over ±30 (a saturated softmax).
  OpCase large = make(
      "sparse_ce_logits/large", "z [..., V] with |z| up to 100, targets [...] -> mean(logsumexp(z) - z[target])",
      {"z", "targets"}, {true, false}, dflt,
      [](Rng& r, const Shapes& s) {
        Tensor z = uniform(r, s[0], -1.0f, 1.0f);
        const int64_t v = s[0][-1];
        for (int64_t row = 0; row < z.numel() / v; ++row)
          for (int64_t k = 0; k < v; ++k) {
            float& x = z[row * v + k];
            x = row % 3 == 0 ? x + 100.0f : row % 3 == 1 ? x - 100.0f : 30.0f * x;
          }
        return Inputs{z, ids(r, s[1], 0, v)};
      },
      fn_logits, ref_logits);
  // Near |z| = 100 a float step is 7.6e-6 and the loss of a saturated row reaches ~60: a wider central difference
  // keeps float rounding of the loss well under the tolerance; the curvature of logsumexp is O(1), so the
  // truncation error (eps^2 / 6 per unit gradient) stays ~2e-5.
  large.grad.eps = 1e-2;
  cases.push_back(sized(std::move(large), rows3));

  // Probabilities in [0.02, 0.98] (unnormalized, like sigmoid outputs) plus, at the default shapes and fixed
  // positions, values beyond the clip range [1e-7, 1 - 1e-7] (0, 1e-9, 1, 1 - 1e-8 rounds to 1 in float) and values
  // inside it but closer to its ends than the gradcheck step (1e-6, 1 - 1e-4): a central difference there would
  // straddle the clip, so the gradcheck skips every p within 1e-3 of 0 or 1 (exactly those). Targets point at some.
  struct Special {
    int64_t index;
    float value;
  };
  static const Special kSpecial[] = {{3, 0.0f},         {14, 1e-9f}, {25, 1.0f}, {36, 1.0f - 1e-8f},
                                     {47, 1e-6f},       {58, 1.0f - 1e-4f},      {69, 5e-8f},
                                     {80, 1.0f - 5e-8f}};
  OpCase probs = make(
      "sparse_ce_probs", f_probs, {"p", "targets"}, {true, false}, dflt,
      [](Rng& r, const Shapes& s) {
        Tensor p = uniform(r, s[0], 0.02f, 0.98f);
        const bool dflt_shape = s[0] == Shape{kB, kT, kV} && s[1] == Shape{kB, kT};
        if (dflt_shape)
          for (const Special& sp : kSpecial) p[sp.index] = sp.value;
        Tensor t = ids(r, s[1], 0, s[0][-1]);
        if (dflt_shape) {
          t[0] = 3.0f;  // row 0 targets p = 0 (clipped to 1e-7: a large but finite loss)
          t[2] = 3.0f;  // row 2 targets p = 1 (flat index 25, clipped to 1 - 1e-7)
          t[4] = 3.0f;  // row 4 targets p = 1e-6 (flat index 47, inside the clip range)
        }
        return Inputs{p, t};
      },
      [](const Vars& v) { return sparse_ce_probs(v[0], v[1]); },
      [](const Inputs& in) { return ref_ce_probs(in[0], in[1]); });
  probs.skip = [](const Inputs& in, size_t input, int64_t j) {
    return input == 0 && (in[0][j] < 1e-3f || in[0][j] > 1.0f - 1e-3f);
  };
  cases.push_back(sized(std::move(probs), rows3));

  // Grouped: [2,5,V] as 2 stacked models of 5 positions each, one mean loss per model ([2]).
  cases.push_back(sized(
      make("sparse_ce_logits/grouped", "z [G, ..., V], targets [G, ...] -> [G]: each group's own mean loss",
           {"z", "targets"}, {true, false}, dflt, float_and_targets(-3.0f, 3.0f),
           [](const Vars& v) { return sparse_ce_logits(v[0], v[1], v[0].shape()[0]); },
           [](const Inputs& in) { return ref_grouped(in[0], in[1], in[0].shape()[0], ref_ce_logits); }),
      grouped));
  cases.push_back(sized(
      make("sparse_ce_probs/grouped", "p [G, ..., V], targets [G, ...] -> [G]: each group's own mean loss",
           {"p", "targets"}, {true, false}, dflt, float_and_targets(0.02f, 0.98f),
           [](const Vars& v) { return sparse_ce_probs(v[0], v[1], v[0].shape()[0]); },
           [](const Inputs& in) { return ref_grouped(in[0], in[1], in[0].shape()[0], ref_ce_probs); }),
      grouped));
}

// reshape: a view, [B,T,E] -> [B*T, E] and to a 4-D shape; followed by a scale so the graph has a consumer.
void add_reshape_cases(std::vector<OpCase>& cases) {
  const auto rows3 = [](int64_t n) { return Shapes{Shape{3, 2, n}}; };
  cases.push_back(sized(make(
                            "reshape", "x [..., N] -> 2 · x as [numel / N, N] (a view, then a scale)", {"x"}, {true},
                            {Shape{kB, kT, kE}}, uniform_inputs(),
                            [](const Vars& v) {
                              const Shape& s = v[0].shape();
                              return scale(reshape(v[0], Shape{s.numel() / s[-1], s[-1]}), 2.0f);
                            },
                            [](const Inputs& in) {
                              const Shape& s = in[0].shape();
                              Tensor y = in[0].clone().reshape(Shape{s.numel() / s[-1], s[-1]});
                              for (int64_t i = 0; i < y.numel(); ++i) y[i] *= 2.0f;
                              return y;
                            }),
                        rows3));
  const auto lead_one = [](const Shape& s) {
    std::vector<int64_t> d = s.dims();
    d.insert(d.begin(), 1);
    return Shape(d);
  };
  cases.push_back(sized(make("reshape/4d", "x [A,B,C] -> x as [1,A,B,C] (a view)", {"x"}, {true}, {Shape{kB, kT, kE}},
                             uniform_inputs(), [=](const Vars& v) { return reshape(v[0], lead_one(v[0].shape())); },
                             [=](const Inputs& in) { return in[0].clone().reshape(lead_one(in[0].shape())); }),
                        rows3));
}

// A composite: causal self-attention scores and output, matmul(trans_b) -> scale -> masked softmax -> matmul, as
// the toy model composes it (no fused kernel).
void add_composite_cases(std::vector<OpCase>& cases) {
  cases.push_back(sized(
      make(
          "attention/causal_composite", "q, k [B,T,H], v [B,T,E] -> softmax(q·kᵀ / √H, causal) · v [B,T,E]",
          {"q", "k", "v"}, {true, true, true}, {Shape{kB, kT, kH}, Shape{kB, kT, kH}, Shape{kB, kT, kE}},
          uniform_inputs(),
          [](const Vars& v) {
            const int64_t t = v[0].shape()[-2], h = v[0].shape()[-1];
            Var w = softmax(scale(matmul(v[0], v[1], false, true), 1.0f / std::sqrt(static_cast<float>(h))),
                            causal_mask(t, v[0].device()));
            return matmul(w, v[2]);
          },
          [](const Inputs& in) {
            const int64_t t = in[0].shape()[-2], h = in[0].shape()[-1];
            Tensor s = ref_matmul(in[0], in[1], false, true);
            for (int64_t i = 0; i < s.numel(); ++i)
              s[i] = static_cast<float>(static_cast<double>(s[i]) / std::sqrt(static_cast<double>(h)));
            return ref_matmul(ref_softmax(s, causal_mask(t)), in[2], false, false);
          }),
      [](int64_t n) { return Shapes{Shape{1, n, kH}, Shape{1, n, kH}, Shape{1, n, kE}}; }, {1, 33}));
}

// Multi-head attention composed from slice_last / concat_last (2 heads of 3 columns) with a per-sequence key-padding
// mask [B,T,T] (sequence 1's last two keys padded) and an output projection [6, 4]; the weights of each head are
// computed on that head's column block only.
Tensor key_padding_mask_bt() {
  Tensor m = Tensor::full(Shape{kB, kT, kT}, 1.0f);
  for (int64_t i = 0; i < kT; ++i)
    for (int64_t j = kT - 2; j < kT; ++j) m[(kT + i) * kT + j] = 0.0f;
  return m;
}

void add_multi_head_case(std::vector<OpCase>& cases) {
  constexpr int64_t kHeads = 2, kDh = 3;
  const float scale_c = 1.0f / std::sqrt(static_cast<float>(kDh));
  const Shape s{kB, kT, kHeads * kDh};
  cases.push_back(make(
      "attention/multi_head_composite",
      "q, k, v [2,5,6] (2 heads of 3), w_o [6,4], key padding -> concat(heads) · w_o [2,5,4]",
      {"q", "k", "v", "w_o"}, {true, true, true, true}, {s, s, s, Shape{kHeads * kDh, 4}}, uniform_inputs(),
      [=](const Vars& v) {
        const Tensor mask = key_padding_mask_bt().to(v[0].device());
        std::vector<Var> heads;
        for (int64_t h = 0; h < kHeads; ++h) {
          Var q = slice_last(v[0], h * kDh, kDh), k = slice_last(v[1], h * kDh, kDh);
          Var w = softmax(scale(matmul(q, k, false, true), scale_c), mask);
          heads.push_back(matmul(w, slice_last(v[2], h * kDh, kDh)));
        }
        return matmul(concat_last(heads), v[3]);
      },
      [=](const Inputs& in) {
        std::vector<Tensor> heads;
        for (int64_t h = 0; h < kHeads; ++h) {
          Tensor sc = ref_matmul(ref_slice_last(in[0], h * kDh, kDh), ref_slice_last(in[1], h * kDh, kDh), false, true);
          for (int64_t i = 0; i < sc.numel(); ++i)
            sc[i] = static_cast<float>(static_cast<double>(sc[i]) / std::sqrt(static_cast<double>(kDh)));
          heads.push_back(ref_matmul(ref_softmax(sc, key_padding_mask_bt()), ref_slice_last(in[2], h * kDh, kDh),
                                     false, false));
        }
        return ref_matmul(ref_concat_last(heads), in[3], false, false);
      }));
}

std::vector<OpCase> build() {
  std::vector<OpCase> cases;
  add_embedding_cases(cases);
  add_add_cases(cases);
  add_scale_cases(cases);
  add_matmul_cases(cases);
  add_softmax_cases(cases);
  add_unary_cases(cases);
  add_reduce_cases(cases);
  add_cross_entropy_cases(cases);
  add_reshape_cases(cases);
  add_slice_last_cases(cases);
  add_concat_last_cases(cases);
  add_conv1d_cases(cases);
  add_layer_norm_cases(cases);
  add_composite_cases(cases);
  add_multi_head_case(cases);
  check_op_cases(cases);
  return cases;
}

}  // namespace

std::vector<Shapes> OpCase::variants() const {
  std::vector<Shapes> out{shapes};
  if (sized)
    for (int64_t n : sizes) out.push_back(sized(n));
  return out;
}

Inputs OpCase::inputs(uint64_t seed, const Shapes& at) const {
  const Shapes& s = at.empty() ? shapes : at;
  TOY_CHECK(s.size() == input_names.size(), "{} takes {} input shapes, got {}", name, input_names.size(), s.size());
  Rng rng(seed);
  Inputs in = make_inputs(rng, s);
  TOY_CHECK(in.size() == s.size(), "op case {}: the generator made {} inputs for {} shapes", name, in.size(), s.size());
  return in;
}

GradcheckOptions OpCase::grad_options(const Inputs& in) const {
  GradcheckOptions o = grad;
  o.skip = nullptr;
  if (skip) o.skip = [f = skip, &in](size_t i, int64_t j) { return f(in, i, j); };
  return o;
}

void check_op_cases(const std::vector<OpCase>& cases) {
  std::set<std::string> names;
  for (const OpCase& c : cases) {
    TOY_CHECK(names.insert(c.name).second, "op_cases: duplicate case name '{}'", c.name);
    // Test names are "op/<name>: gradcheck": CTest's list syntax cuts at ';' and doctest's filters split at ','.
    TOY_CHECK(!c.name.empty() && c.name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_/") == std::string::npos,
              "op_cases: case name '{}' must be made of [a-z0-9_/]", c.name);
    TOY_CHECK(c.input_names.size() == c.differentiable.size() && c.shapes.size() == c.input_names.size(),
              "op_cases: {}: {} input names, {} differentiable flags, {} default shapes", c.name, c.input_names.size(),
              c.differentiable.size(), c.shapes.size());
    TOY_CHECK(std::find(c.differentiable.begin(), c.differentiable.end(), true) != c.differentiable.end(),
              "op_cases: {}: no differentiable input", c.name);
    TOY_CHECK(c.make_inputs && c.fn && c.reference && !c.formula.empty(),
              "op_cases: {}: missing formula, generator, op or reference", c.name);
    TOY_CHECK(c.sizes.empty() || c.sized, "op_cases: {}: sizes without a sized() shape function", c.name);
  }
}

const std::vector<OpCase>& op_cases() {
  static const std::vector<OpCase> cases = build();
  return cases;
}

const OpCase& op_case(const std::string& name) {
  for (const OpCase& c : op_cases())
    if (c.name == name) return c;
  fail("op_case: no case named '{}'", name);
}

const OpCase& op_case_or_family(const std::string& name) {
  for (const OpCase& c : op_cases())
    if (c.name == name) return c;
  std::vector<std::string> families;
  for (const OpCase& c : op_cases()) {
    if (c.family() == name) return c;
    if (std::find(families.begin(), families.end(), c.family()) == families.end()) families.push_back(c.family());
  }
  fail("unknown op '{}' (known: {}; or any case name of --list)", name, fmt::join(families, ", "));
}

Tensor random_uniform(Rng& rng, const Shape& s, float lo, float hi) {
  Tensor t = Tensor::empty(s);
  for (int64_t i = 0; i < t.numel(); ++i) t[i] = rng.uniform(lo, hi);
  return t;
}

Tensor random_ids(Rng& rng, const Shape& s, int64_t lo, int64_t hi) {
  hi = std::max(hi, lo + 1);
  Tensor t = Tensor::empty(s);
  for (int64_t i = 0; i < t.numel(); ++i) t[i] = static_cast<float>(lo + static_cast<int64_t>(rng.below(hi - lo)));
  return t;
}

}  // namespace toy::testing
