// Autograd engine: gradient accumulation over several consumers, no-grad mode, Graph replay, zero_grad, leaf
// accumulation across backward calls, and no heap allocation in a replayed step.
// This file replaces the global operator new/delete with counting versions (for the whole test binary; they only
// count while a test switches counting on).
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <new>
#include <vector>

#include "autograd/op_cases.h"
#include "autograd/ops.h"
#include "core/error.h"
#include "core/rng.h"

// ---- counting global operator new / delete ------------------------------------------------------------------------

namespace {
std::atomic<bool> g_count_allocs{false};
std::atomic<int64_t> g_allocs{0};

void* counted_malloc(std::size_t n) {
  if (g_count_allocs.load(std::memory_order_relaxed)) g_allocs.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(n ? n : 1);
}
void* counted_aligned(std::size_t n, std::align_val_t al) {
  if (g_count_allocs.load(std::memory_order_relaxed)) g_allocs.fetch_add(1, std::memory_order_relaxed);
  const std::size_t a = std::max(static_cast<std::size_t>(al), sizeof(void*));
  return std::aligned_alloc(a, ((n ? n : 1) + a - 1) / a * a);  // the size must be a multiple of the alignment
}
void* or_throw(void* p) {
  if (!p) throw std::bad_alloc();
  return p;
}
}  // namespace

void* operator new(std::size_t n) { return or_throw(counted_malloc(n)); }
void* operator new[](std::size_t n) { return or_throw(counted_malloc(n)); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept { return counted_malloc(n); }
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept { return counted_malloc(n); }
void* operator new(std::size_t n, std::align_val_t a) { return or_throw(counted_aligned(n, a)); }
void* operator new[](std::size_t n, std::align_val_t a) { return or_throw(counted_aligned(n, a)); }
void* operator new(std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept { return counted_aligned(n, a); }
void* operator new[](std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  return counted_aligned(n, a);
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }

using namespace toy;

namespace {

constexpr int64_t kB = 2, kT = 5, kE = 7, kH = 3, kV = 11;

// The op registry's input builders (autograd/op_cases.h).
Tensor uniform(Rng& rng, const Shape& s, float lo = -1.0f, float hi = 1.0f) {
  return testing::random_uniform(rng, s, lo, hi);
}
Tensor random_ids(Rng& rng, const Shape& s, int64_t limit) { return testing::random_ids(rng, s, 0, limit); }

Tensor positions() {
  Tensor p = Tensor::empty(Shape{kT});
  for (int64_t t = 0; t < kT; ++t) p[t] = static_cast<float>(t);
  return p;
}

bool same_bits(const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape()) return false;
  std::vector<float> x = a.to_vector(), y = b.to_vector();
  return std::memcmp(x.data(), y.data(), x.size() * sizeof(float)) == 0;
}

// The toy model's parameters (Keras-like initial ranges).
struct Params {
  Tensor tok, pos, wq, wk, wv, wo;
  static Params init(uint64_t seed) {
    Rng r(seed);
    return {uniform(r, Shape{kV, kE}, -0.05f, 0.05f), uniform(r, Shape{kT, kE}, -0.05f, 0.05f),
            init::glorot_uniform(Shape{kE, kH}, r),   init::glorot_uniform(Shape{kE, kH}, r),
            init::glorot_uniform(Shape{kE, kE}, r),   init::glorot_uniform(Shape{kE, kV}, r)};
  }
  Params clone() const { return {tok.clone(), pos.clone(), wq.clone(), wk.clone(), wv.clone(), wo.clone()}; }
};

// A toy-sized causal self-attention model over every op kind: token + position embeddings, Q/K/V projections,
// scaled masked softmax, attention output through tanh, residual, output projection, cross-entropy from logits.
struct Model {
  std::vector<Var> params;  // tok, pos, wq, wk, wv, wo
  Var ids, targets, loss;
  Model(const Params& p, const Tensor& id_values, const Tensor& target_values) {
    for (const Tensor* t : {&p.tok, &p.pos, &p.wq, &p.wk, &p.wv, &p.wo}) params.push_back(Var::param(*t));
    ids = Var::constant(id_values);
    targets = Var::constant(target_values);
    Var x = add(embedding(ids, params[0]), embedding(Var::constant(positions()), params[1]));
    Var q = matmul(x, params[2]), k = matmul(x, params[3]), v = matmul(x, params[4]);
    Var w = softmax(scale(matmul(q, k, false, true), 1.0f / std::sqrt(static_cast<float>(kH))), causal_mask(kT));
    Var h = add(tanh(matmul(w, v)), x);
    loss = sparse_ce_logits(matmul(h, params[5]), targets);
  }
};

}  // namespace

// x = tok[ids] + pos feeds four consumers: three projections and the residual add (and v feeds two).
// L = Σ x·Wq + Σ x·Wk + Σ x·Wv + Σ (x·Wv + x), so by hand, with c[e] = Σ_h Wq[e,h] + Σ_h Wk[e,h] + 2 Σ_j Wv[e,j] + 1:
//   dL/dx[b,t,e] = c[e],  dL/dtok[v,e] = count(v in ids) c[e],  dL/dpos[t,e] = B c[e],
//   dL/dWq[e,h] = dL/dWk[e,h] = Σ_{b,t} x[b,t,e],  dL/dWv[e,j] = 2 Σ_{b,t} x[b,t,e].
TEST_CASE("autograd/accumulate: a value feeding Q, K, V and the residual sums its gradients") {
  Rng r(3);
  Tensor id_values = random_ids(r, Shape{kB, kT}, kV);
  id_values[6] = id_values[1];  // a repeated token
  Params p = Params::init(11);
  Var ids = Var::constant(id_values);
  Var tok = Var::param(p.tok), pos = Var::param(p.pos), wq = Var::param(p.wq), wk = Var::param(p.wk),
      wv = Var::param(p.wv);
  Var x = add(embedding(ids, tok), embedding(Var::constant(positions()), pos));
  Var v = matmul(x, wv);
  Var loss = add(add(sum(matmul(x, wq)), sum(matmul(x, wk))), add(sum(v), sum(add(v, x))));
  backward(loss);

  std::vector<double> c(kE, 1.0), colsum_x(kE, 0.0);
  for (int64_t e = 0; e < kE; ++e) {
    for (int64_t h = 0; h < kH; ++h) c[e] += static_cast<double>(p.wq[e * kH + h]) + p.wk[e * kH + h];
    for (int64_t j = 0; j < kE; ++j) c[e] += 2.0 * p.wv[e * kE + j];
  }
  for (int64_t i = 0; i < kB * kT; ++i)
    for (int64_t e = 0; e < kE; ++e) colsum_x[e] += x.value()[i * kE + e];
  const auto near = [](double got, double want) { return std::abs(got - want) <= 1e-5 + 1e-5 * std::abs(want); };

  for (int64_t i = 0; i < kB * kT; ++i)
    for (int64_t e = 0; e < kE; ++e) CHECK(near(x.grad()[i * kE + e], c[e]));
  for (int64_t id = 0; id < kV; ++id) {
    int64_t count = 0;
    for (int64_t i = 0; i < id_values.numel(); ++i) count += static_cast<int64_t>(id_values[i]) == id;
    for (int64_t e = 0; e < kE; ++e) CHECK_MESSAGE(near(tok.grad()[id * kE + e], count * c[e]), "id ", id);
  }
  for (int64_t t = 0; t < kT; ++t)
    for (int64_t e = 0; e < kE; ++e) CHECK(near(pos.grad()[t * kE + e], kB * c[e]));
  for (int64_t e = 0; e < kE; ++e) {
    for (int64_t h = 0; h < kH; ++h) {
      CHECK(near(wq.grad()[e * kH + h], colsum_x[e]));
      CHECK(near(wk.grad()[e * kH + h], colsum_x[e]));
    }
    for (int64_t j = 0; j < kE; ++j) CHECK(near(wv.grad()[e * kE + j], 2.0 * colsum_x[e]));
  }
}

TEST_CASE("autograd/no_grad: no closures, no gradients, backward refuses") {
  Rng r(5);
  Var x = Var::constant(uniform(r, Shape{kB, kT, kE}));
  Var w = Var::param(uniform(r, Shape{kE, kH}));
  CHECK(grad_enabled());
  Tensor with_grad_value = mean(sigmoid(matmul(x, w))).value().clone();
  {
    NoGradGuard guard;
    CHECK_FALSE(grad_enabled());
    {
      NoGradGuard nested;
      CHECK_FALSE(grad_enabled());
    }
    CHECK_FALSE(grad_enabled());  // the nested guard restores "off", not "on"
    Var h = matmul(x, w);
    Var y = mean(sigmoid(h));
    CHECK(same_bits(y.value(), with_grad_value));  // the values are the same
    CHECK_FALSE(h.requires_grad());
    CHECK_FALSE(y.requires_grad());
    CHECK_FALSE(static_cast<bool>(h.node()->backward));
    CHECK_FALSE(static_cast<bool>(y.node()->backward));
    CHECK_FALSE(w.has_grad());
    CHECK_THROWS_WITH_AS(w.grad(), doctest::Contains("has no gradient"), Error);
    CHECK_THROWS_WITH_AS(backward(y), doctest::Contains("backward: the root (mean) does not require grad"), Error);
    CHECK_THROWS_WITH_AS(Graph(y).backward(), doctest::Contains("does not require grad"), Error);
  }
  CHECK(grad_enabled());
  Var y = mean(sigmoid(matmul(x, w)));
  CHECK(y.requires_grad());
  backward(y);
  CHECK(w.has_grad());
}

// Build once, then per step: new inputs and parameter values, forward(), zero_grad(), backward(). The result must
// be the same, bit for bit, as a graph built from scratch on the same values.
TEST_CASE("autograd/graph: replay with new values matches a fresh graph bit for bit") {
  Rng r(7);
  Params p = Params::init(1);
  Model m(p.clone(), random_ids(r, Shape{kB, kT}, kV), random_ids(r, Shape{kB, kT}, kV));
  Graph g(m.loss);
  CHECK(g.params().size() == 6);
  g.backward();

  for (int step = 0; step < 3; ++step) {
    // An SGD-like update of every parameter, then a new batch.
    for (Var& v : m.params)
      for (int64_t i = 0; i < v.value().numel(); ++i) v.value()[i] -= 0.5f * v.grad()[i];
    m.ids.value().copy_from(random_ids(r, Shape{kB, kT}, kV));
    m.targets.value().copy_from(random_ids(r, Shape{kB, kT}, kV));
    const float before = m.loss.value().item();
    g.forward();
    g.zero_grad();
    g.backward();
    CHECK(m.loss.value().item() != before);

    Params now{m.params[0].value().clone(), m.params[1].value().clone(), m.params[2].value().clone(),
               m.params[3].value().clone(), m.params[4].value().clone(), m.params[5].value().clone()};
    Model fresh(now, m.ids.value().clone(), m.targets.value().clone());
    backward(fresh.loss);
    CHECK(same_bits(m.loss.value(), fresh.loss.value()));
    for (size_t i = 0; i < m.params.size(); ++i)
      CHECK_MESSAGE(same_bits(m.params[i].grad(), fresh.params[i].grad()), "step ", step, " param ", i);
  }
}

TEST_CASE("autograd/graph: zero_grad clears leaf gradients and leaf gradients accumulate across backward calls") {
  Rng r(9);
  Model m(Params::init(2), random_ids(r, Shape{kB, kT}, kV), random_ids(r, Shape{kB, kT}, kV));
  Graph g(m.loss);
  g.backward();
  std::vector<Tensor> once;
  for (const Var& v : m.params) once.push_back(v.grad().clone());

  // Graph::backward twice: the leaves hold twice the gradient (to rounding: a kernel may add its terms into the
  // existing gradient one by one, e.g. the embedding's scatter-add of a repeated id).
  g.backward();
  for (size_t i = 0; i < m.params.size(); ++i)
    for (int64_t j = 0; j < once[i].numel(); ++j)
      REQUIRE(m.params[i].grad()[j] == doctest::Approx(2.0 * once[i][j]).epsilon(1e-6));

  // Eager backward() on the same root also accumulates into the existing leaf gradients.
  backward(m.loss);
  for (size_t i = 0; i < m.params.size(); ++i)
    for (int64_t j = 0; j < once[i].numel(); ++j)
      REQUIRE(m.params[i].grad()[j] == doctest::Approx(3.0 * once[i][j]).epsilon(1e-6));

  g.zero_grad();
  for (const Var& v : m.params)
    for (int64_t j = 0; j < v.grad().numel(); ++j) REQUIRE(v.grad()[j] == 0.0f);

  // After zero_grad one backward gives the single-pass gradient again, bit for bit (intermediate gradients are
  // re-zeroed by backward itself).
  g.backward();
  for (size_t i = 0; i < m.params.size(); ++i) CHECK(same_bits(m.params[i].grad(), once[i]));
}

// After the first step, forward + zero_grad + backward of a built graph allocate nothing: no operator new (counted
// here) and no tensor (re)allocation (tensor storage comes from the backend's aligned_alloc, which the counter does
// not see, so every node's value and gradient buffer must keep its address).
TEST_CASE("autograd/graph: a replayed step makes no heap allocation") {
  Rng r(13);
  Model m(Params::init(4), random_ids(r, Shape{kB, kT}, kV), random_ids(r, Shape{kB, kT}, kV));
  Graph g(m.loss);
  Tensor batches[2] = {random_ids(r, Shape{kB, kT}, kV), random_ids(r, Shape{kB, kT}, kV)};
  g.forward();
  g.zero_grad();
  g.backward();  // the first step

  std::vector<const float*> buffers;
  for (Node* n : g.nodes()) {
    buffers.push_back(n->value.data());
    buffers.push_back(n->grad.defined() ? n->grad.data() : nullptr);
  }
  const float first_loss = m.loss.value().item();

  g_allocs = 0;
  g_count_allocs = true;
  for (int step = 0; step < 100; ++step) {
    m.ids.value().copy_from(batches[step % 2]);
    g.forward();
    g.zero_grad();
    g.backward();
  }
  g_count_allocs = false;
  CHECK(g_allocs.load() == 0);

  std::vector<const float*> after;
  for (Node* n : g.nodes()) {
    after.push_back(n->value.data());
    after.push_back(n->grad.defined() ? n->grad.data() : nullptr);
  }
  CHECK(after == buffers);
  CHECK(std::isfinite(m.loss.value().item()));
  CHECK(m.loss.value().item() != first_loss);  // the steps did run on new batches

  // The counter works: building a graph allocates.
  g_allocs = 0;
  g_count_allocs = true;
  Graph again(m.loss);
  g_count_allocs = false;
  CHECK(g_allocs.load() > 0);
}
