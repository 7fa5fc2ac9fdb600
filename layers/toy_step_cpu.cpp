// The toy model's fused step on the CPU, written for the CPU: the same arithmetic as layers/toy_step.h's
// model_step (which the CUDA kernel runs) in the same order for every output element, so the two agree bit for bit,
// but with the loops turned so that the innermost one runs across independent outputs (a row of q, vo, dvm, dWq,
// ...): each output keeps its own sequential sum, and the compiler vectorizes the loop across outputs. Built for
// SSE2 and AVX2 (GCC function multiversioning), chosen at run time by the CPU it runs on; both give the same bits
// (no contraction to FMA in this file, no reassociation: one rounding per + and *, lane by lane). An AVX-512 clone
// was slower at H=20 (16 + 4 lanes) and no faster at H=10 and 40 on the dev machine's Zen 4, so there is none.
#include <cmath>

#include "layers/toy_step.h"

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(TOYFORMER_NO_CLONES)
#define TOY_CPU_CLONES __attribute__((target_clones("default", "avx2")))
#else
#define TOY_CPU_CLONES
#endif

namespace toy {
namespace {

using toystep::scratch_per_model;

// acc[0..w) += a * b[0..w): one output per lane, each summed in the caller's order.
inline void axpy(float* __restrict acc, float a, const float* __restrict b, int w) {
  for (int i = 0; i < w; ++i) acc[i] += a * b[i];
}
inline void zero(float* p, int w) {
  for (int i = 0; i < w; ++i) p[i] = 0.0f;
}

// Model m's step; the phases are model_step's (layers/toy_step.h), numbered the same. kB, kT, kV, kH > 0 fix
// those sizes at compile time (the notebook's shapes: the loops then unroll and vectorize with masks); 0 = as
// given at run time.
template <int kB, int kT, int kV, int kH>
__attribute__((always_inline)) inline void model_step_sized(const ToyStepArgs& a, int m) {
  const int B = kB ? kB : static_cast<int>(a.B), T = kT ? kT : static_cast<int>(a.T);
  const int V = kV ? kV : static_cast<int>(a.V), E = V;
  const int H = kH ? kH : static_cast<int>(a.H), n = B * T;
  const float* ids = a.ids + m * n;
  const float* tg = a.targets + m * n;
  const float* XE = a.xembed + m * V * E;
  const float* PE = a.posembed + m * T * E;
  const float* Wq = a.wq + m * E * H;
  const float* Wk = a.wk + m * E * H;
  const float* Wv = a.wv + m * E * V;
  float *xe = a.xe + m * n * E, *pe = a.pe + m * n * E, *x = a.x + m * n * E;
  float *q = a.q + m * n * H, *k = a.k + m * n * H;
  float *dot = a.dot + m * n * T, *lam = a.lam + m * n * T, *attn = a.attn + m * n * T;
  float *vm = a.vm + m * n * V, *vo = a.vo + m * n * V, *z = a.z + m * n * V, *p = a.p + m * n * V;
  float *dXE = a.d_xembed + m * V * E, *dPE = a.d_posembed + m * T * E;
  float *dWq = a.d_wq + m * E * H, *dWk = a.d_wk + m * E * H, *dWv = a.d_wv + m * E * V;
  float* s = a.scratch + m * scratch_per_model(B, T, V, H);
  float *dz = s, *dvm = dz + n * V, *dd = dvm + n * V, *dq = dd + n * T, *dk = dq + n * H, *dx = dk + n * H;
  float* row_loss = dx + n * E;
  const float divisor = static_cast<float>(n), seed = 1.0f / divisor;
  const float scale = a.scale;

  // 1. XEmbed, PosEmbed, XwithPos [n,E].
  for (int r = 0; r < n; ++r) {
    const float* xr = XE + static_cast<int>(ids[r]) * E;
    const float* pr = PE + (r % T) * E;
    for (int e = 0; e < E; ++e) {
      xe[r * E + e] = xr[e];
      pe[r * E + e] = pr[e];
      x[r * E + e] = xr[e] + pr[e];
    }
  }
  // 2. Qmat, Kmat [n,H], Vmat [n,V] = x · W: each output sums over e from 0 in order.
  for (int r = 0; r < n; ++r) {
    float *qr = q + r * H, *kr = k + r * H, *vr = vm + r * V;
    zero(qr, H);
    zero(kr, H);
    zero(vr, V);
    for (int e = 0; e < E; ++e) {
      const float xv = x[r * E + e];
      axpy(qr, xv, Wq + e * H, H);
      axpy(kr, xv, Wk + e * H, H);
      axpy(vr, xv, Wv + e * V, V);
    }
  }
  // 3. dot, lambda, AttnWts (causal softmax with Keras' mask adder), a row at a time.
  for (int r = 0; r < n; ++r)
    toystep::attention_row(q + r * H, k + (r / T) * T * H, H, T, r % T, scale, dot + r * T, lam + r * T, attn + r * T);
  // 4. Voutput = AttnWts · Vmat (over j in order), skipadd = Voutput + XwithPos, activation = sigmoid(skipadd).
  for (int r = 0; r < n; ++r) {
    const int b = r / T;
    float* vor = vo + r * V;
    zero(vor, V);
    for (int j = 0; j < T; ++j) axpy(vor, attn[r * T + j], vm + (b * T + j) * V, V);
    for (int v = 0; v < V; ++v) {
      z[r * V + v] = vor[v] + x[r * E + v];
      p[r * V + v] = scalar::sigmoid(z[r * V + v]);
    }
  }
  // 5. Each row's loss term and d loss / d skipadd; the residual's gradient starts dx.
  for (int r = 0; r < n; ++r) {
    float* dzr = dz + r * V;
    row_loss[r] = toystep::loss_row(z + r * V, p + r * V, static_cast<int>(tg[r]), V, seed, a.normalized_loss, dzr);
    for (int e = 0; e < E; ++e) dx[r * E + e] = 0.0f + dzr[e];
  }
  // 6. The loss (rows in order); d Vmat[b*T+j] = sum_i AttnWts[b*T+i, j] dz[b*T+i] (i in order); d AttnWts.
  float total = 0.0f;
  for (int r = 0; r < n; ++r) total += row_loss[r];
  a.loss[m] = total / divisor;
  for (int b = 0; b < B; ++b)
    for (int j = 0; j < T; ++j) {
      float* dvr = dvm + (b * T + j) * V;
      zero(dvr, V);
      for (int i = 0; i < T; ++i) axpy(dvr, attn[(b * T + i) * T + j], dz + (b * T + i) * V, V);
    }
  for (int r = 0; r < n; ++r) {
    const int b = r / T;
    for (int j = 0; j < T; ++j) dd[r * T + j] = 0.0f + scalar::dot4(dz + r * V, vm + (b * T + j) * V, V);
  }
  // 7. Softmax backward then the scale (in place on dd); dx += dvm · Wvᵀ; d Wv = xᵀ dvm (over r in order).
  for (int r = 0; r < n; ++r) toystep::attention_row_backward(dd + r * T, attn + r * T, T, scale);
  for (int r = 0; r < n; ++r)
    for (int e = 0; e < E; ++e) dx[r * E + e] = dx[r * E + e] + scalar::dot4(dvm + r * V, Wv + e * V, V);
  zero(dWv, E * V);
  for (int r = 0; r < n; ++r)
    for (int e = 0; e < E; ++e) axpy(dWv + e * V, x[r * E + e], dvm + r * V, V);
  // 8. d Qmat = dd · k (over j in order) and d Kmat = ddᵀ · q (over i in order) per sequence.
  for (int r = 0; r < n; ++r) {
    const int b = r / T;
    float* dqr = dq + r * H;
    zero(dqr, H);
    for (int j = 0; j < T; ++j) axpy(dqr, dd[r * T + j], k + (b * T + j) * H, H);
  }
  for (int b = 0; b < B; ++b)
    for (int j = 0; j < T; ++j) {
      float* dkr = dk + (b * T + j) * H;
      zero(dkr, H);
      for (int i = 0; i < T; ++i) axpy(dkr, dd[(b * T + i) * T + j], q + (b * T + i) * H, H);
    }
  // 9. dx += dk · Wkᵀ, then dx += dq · Wqᵀ; d Wk = xᵀ dk, d Wq = xᵀ dq (over r in order).
  for (int r = 0; r < n; ++r)
    for (int e = 0; e < E; ++e) {
      dx[r * E + e] = dx[r * E + e] + scalar::dot4(dk + r * H, Wk + e * H, H);
      dx[r * E + e] = dx[r * E + e] + scalar::dot4(dq + r * H, Wq + e * H, H);
    }
  zero(dWk, E * H);
  zero(dWq, E * H);
  for (int r = 0; r < n; ++r)
    for (int e = 0; e < E; ++e) {
      axpy(dWk + e * H, x[r * E + e], dk + r * H, H);
      axpy(dWq + e * H, x[r * E + e], dq + r * H, H);
    }
  // 10. Embedding gradients: each table row sums its occurrences' dx in row order.
  zero(dXE, V * E);
  zero(dPE, T * E);
  for (int r = 0; r < n; ++r) {
    axpy(dXE + static_cast<int>(ids[r]) * E, 1.0f, dx + r * E, E);
    axpy(dPE + (r % T) * E, 1.0f, dx + r * E, E);
  }
}

TOY_CPU_CLONES void model_step_cpu(const ToyStepArgs& a, int m) {
  if (a.B == 2 && a.T == 5 && a.V == 7) {  // the notebook's corpus and batch
    switch (a.H) {
      case 10: return model_step_sized<2, 5, 7, 10>(a, m);
      case 20: return model_step_sized<2, 5, 7, 20>(a, m);
      case 40: return model_step_sized<2, 5, 7, 40>(a, m);
      default: return model_step_sized<2, 5, 7, 0>(a, m);
    }
  }
  model_step_sized<0, 0, 0, 0>(a, m);
}

}  // namespace

void run_toy_step_cpu(const ToyStepArgs& a) {
  for (int64_t m = 0; m < a.models; ++m) model_step_cpu(a, static_cast<int>(m));
}

}  // namespace toy
