// The toy model's fused step on the CPU, written for the CPU: the same arithmetic as layers/toy_step.h's
// model_step (which the CUDA kernel runs) in the same order for every output element, so the two agree bit for bit.
// Two ways to vectorize without changing any element's order of operations:
//   - one model: the loops turned so that the innermost one runs across independent outputs (a row of q, vo, dvm,
//     dWq, ...); each output keeps its own sequential sum, and the compiler vectorizes across outputs;
//   - a stack: eight models at once, one per SIMD lane (GCC vector types), each lane doing its own model's
//     arithmetic in the one-model order, so a model gets the same bits in a stack as alone. The lanes read their
//     models' weights and inputs gathered into a lane-major buffer and the results go back to the models' tensors.
// Built for SSE2 and AVX2 (GCC function multiversioning), chosen at run time by the CPU it runs on; both give the
// same bits (no contraction to FMA in this file, no reassociation: one rounding per + and *, lane by lane). An
// AVX-512 clone was slower at H=20 (16 + 4 lanes) and no faster at H=10 and 40 on the dev machine's Zen 4.
#include <cmath>
#include <cstdint>
#include <iterator>
#include <type_traits>
#include <vector>

#include "core/cpu/expf8.h"
#include "layers/toy_step.h"

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define TOY_CPU_CLONES __attribute__((target_clones("default", "avx2")))
#else
#define TOY_CPU_CLONES
#endif

namespace toy {
namespace {

using toystep::scratch_per_model;

// Eight floats, one per model of a group of stacked models.
using Lanes = float __attribute__((vector_size(32)));
using LanesU = float __attribute__((vector_size(32), aligned(4), may_alias));  // the same, at any float's address
template <class F>
constexpr int kLanes = sizeof(F) / sizeof(float);

inline float& lane(float& x, int) { return x; }
inline float lane(const float& x, int) { return x; }
inline float& lane(Lanes& x, int l) { return reinterpret_cast<float*>(&x)[l]; }
inline float lane(const Lanes& x, int l) { return reinterpret_cast<const float*>(&x)[l]; }
template <class F>
__attribute__((always_inline)) inline F splat(float v) {
  F r;
  for (int l = 0; l < kLanes<F>; ++l) lane(r, l) = v;
  return r;
}
// v[0..n) = expf(v[0..n)) in place, libm's bits: one model calls libm (batching its short rows through cpu::expf8
// was no faster); eight lanes go through cpu::expf8 (core/cpu/expf8.h: libm's algorithm on vectors where the CPU has
// AVX2 and FMA). Below -104 expf is +0 (e^-104 is under half the least subnormal; every float below -104 checked
// against this libm), given without the call: the causal mask's -1e9 entries would take libm's slow underflow path.
template <class F>
__attribute__((always_inline)) inline void exp_all(F* v, int n) {
  if constexpr (std::is_same_v<F, float>) {
    for (int i = 0; i < n; ++i) v[i] = v[i] < -104.0f ? 0.0f : expf(v[i]);
  } else {
    static_assert(kLanes<F> == 8, "cpu::expf8 takes eight lanes");
    for (int i = 0; i < n; ++i) cpu::expf8(reinterpret_cast<float*>(v + i));
  }
}
// toystep::loss_row from the logits (the Keras loss) for all lanes at once, each lane in its order: the row's max,
// e_j = expf(z_j - max) (computed once; loss_row computes the same value twice), sum_j e_j in order,
// dz_j = 0 + seed (e_j / sum - [j == y]), loss = logf(sum) - (z_y - max). e: V lanes of scratch.
template <class F>
__attribute__((always_inline)) inline F loss_row_each(const F* zr, const float* const* tg, int r, int V, float seed,
                                                      F* dzr, F* e) {
  F mx = zr[0];
  for (int j = 1; j < V; ++j) mx = zr[j] > mx ? zr[j] : mx;
  for (int j = 0; j < V; ++j) e[j] = zr[j] - mx;
  exp_all(e, V);
  F sum{};
  for (int j = 0; j < V; ++j) sum += e[j];
  for (int j = 0; j < V; ++j) {
    F onehot{};
    for (int l = 0; l < kLanes<F>; ++l) lane(onehot, l) = static_cast<int>(tg[l][r]) == j ? 1.0f : 0.0f;
    dzr[j] = 0.0f + seed * (e[j] / sum - onehot);
  }
  F loss;
  for (int l = 0; l < kLanes<F>; ++l) {
    const int y = static_cast<int>(tg[l][r]);
    lane(loss, l) = logf(lane(sum, l)) - (lane(zr[y], l) - lane(mx, l));
  }
  return loss;
}

template <class F>
__attribute__((always_inline)) inline void zero(F* p, int w) {
  for (int i = 0; i < w; ++i) p[i] = F{};
}
// An MR x NR tile of mm_seq's outputs, summed in registers.
template <int MR, int NR, class F>
__attribute__((always_inline)) inline void mm_tile(F* c, int ldc, const F* a, int sa, int sp, const F* b, int ldb,
                                                   int K) {
  F acc[MR][NR] = {};
#pragma GCC unroll 1
  for (int p = 0; p < K; ++p) {
    F bv[NR];
#pragma GCC unroll 8
    for (int j = 0; j < NR; ++j) bv[j] = b[p * ldb + j];
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) {
      const F av = a[i * sa + p * sp];
#pragma GCC unroll 8
      for (int j = 0; j < NR; ++j) acc[i][j] += av * bv[j];
    }
  }
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 8
    for (int j = 0; j < NR; ++j) c[i * ldc + j] = acc[i][j];
}
template <int MR, class F>
__attribute__((always_inline)) inline void mm_cols(F* c, int ldc, const F* a, int sa, int sp, const F* b, int ldb,
                                                   int N, int K) {
  constexpr int NR = 4;
  int j = 0;
  for (; j + NR <= N; j += NR) mm_tile<MR, NR>(c + j, ldc, a, sa, sp, b + j, ldb, K);
  switch (N - j) {
    case 3: return mm_tile<MR, 3>(c + j, ldc, a, sa, sp, b + j, ldb, K);
    case 2: return mm_tile<MR, 2>(c + j, ldc, a, sa, sp, b + j, ldb, K);
    case 1: return mm_tile<MR, 1>(c + j, ldc, a, sa, sp, b + j, ldb, K);
    default: return;
  }
}
// n <= 8 floats at p as a vector (the rest zero), and back (n is known at compile time at the notebook's sizes).
// (A switch over fixed sizes: a copy of a run-time size compiled to a memcpy call per load.)
// Element by element in registers: a copy through memory (memcpy into a zeroed vector, then a 32-byte load) stalls
// on store forwarding, which made one model's products four times slower.
template <int N>
__attribute__((always_inline)) inline Lanes load_n(const float* p) {
  if constexpr (N == 8) {
    return *reinterpret_cast<const LanesU*>(p);
  } else {
    Lanes v{};
#pragma GCC unroll 8
    for (int i = 0; i < N; ++i) v[i] = p[i];
    return v;
  }
}
template <int N>
__attribute__((always_inline)) inline void store_n(float* p, const Lanes& v) {
  if constexpr (N == 8) {
    *reinterpret_cast<LanesU*>(p) = v;
  } else {
#pragma GCC unroll 8
    for (int i = 0; i < N; ++i) p[i] = v[i];
  }
}
__attribute__((always_inline)) inline Lanes load_part(const float* p, int n) {
  switch (n) {
    case 1: return load_n<1>(p);
    case 2: return load_n<2>(p);
    case 3: return load_n<3>(p);
    case 4: return load_n<4>(p);
    case 5: return load_n<5>(p);
    case 6: return load_n<6>(p);
    case 7: return load_n<7>(p);
    default: return load_n<8>(p);
  }
}
__attribute__((always_inline)) inline void store_part(float* p, const Lanes& v, int n) {
  switch (n) {
    case 1: return store_n<1>(p, v);
    case 2: return store_n<2>(p, v);
    case 3: return store_n<3>(p, v);
    case 4: return store_n<4>(p, v);
    case 5: return store_n<5>(p, v);
    case 6: return store_n<6>(p, v);
    case 7: return store_n<7>(p, v);
    default: return store_n<8>(p, v);
  }
}
// One model's mm_seq tile: MR rows x NV vectors of eight consecutive outputs (the last holding `last` of them),
// summed in registers, each output over p in order.
template <int MR, int NV, int LAST>
__attribute__((always_inline)) inline void mm_tile_f(float* c, int ldc, const float* a, int sa, int sp,
                                                     const float* b, int ldb, int K, int last) {
  Lanes acc[MR][NV] = {};
#pragma GCC unroll 1
  for (int p = 0; p < K; ++p) {
    Lanes bv[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) {
      const float* bp = b + p * ldb + 8 * v;
      if (v < NV - 1) bv[v] = load_n<8>(bp);
      else if constexpr (LAST > 0) bv[v] = load_n<LAST>(bp);
      else bv[v] = load_part(bp, last);
    }
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) {
      const float av = a[i * sa + p * sp];  // broadcast by the vector product
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[i][v] += av * bv[v];
    }
  }
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) {
      float* cp = c + i * ldc + 8 * v;
      if (v < NV - 1) store_n<8>(cp, acc[i][v]);
      else if constexpr (LAST > 0) store_n<LAST>(cp, acc[i][v]);
      else store_part(cp, acc[i][v], last);
    }
}
template <int MR, int NV, int LAST>
__attribute__((always_inline)) inline void mm_rows_f(float* c, int ldc, const float* a, int sa, int sp, const float* b,
                                                     int ldb, int M, int K, int last) {
  int i = 0;
  for (; i + MR <= M; i += MR) mm_tile_f<MR, NV, LAST>(c + i * ldc, ldc, a + i * sa, sa, sp, b, ldb, K, last);
  switch (M - i) {
    case 3: return mm_tile_f<3, NV, LAST>(c + i * ldc, ldc, a + i * sa, sa, sp, b, ldb, K, last);
    case 2: return mm_tile_f<2, NV, LAST>(c + i * ldc, ldc, a + i * sa, sa, sp, b, ldb, K, last);
    case 1: return mm_tile_f<1, NV, LAST>(c + i * ldc, ldc, a + i * sa, sa, sp, b, ldb, K, last);
    default: return;
  }
}
// One model's columns [J0, N) of mm_seq in chunks of up to three vectors, N known at compile time.
template <int N, int J0>
__attribute__((always_inline)) inline void mm_chunks_f(float* c, int ldc, const float* a, int sa, int sp,
                                                       const float* b, int ldb, int M, int K) {
  constexpr int w = N - J0 < 24 ? N - J0 : 24, nv = (w + 7) / 8, last = w - 8 * (nv - 1);
  mm_rows_f<4, nv, last>(c + J0, ldc, a, sa, sp, b + J0, ldb, M, K, last);
  if constexpr (J0 + 24 < N) mm_chunks_f<N, J0 + 24>(c, ldc, a, sa, sp, b, ldb, M, K);
}
// C = A B for M x N outputs, C[i][j] = c[i*ldc + j], A(i,p) = a[i*sa + p*sp], B[p][j] = b[p*ldb + j]: every output
// sums its K products from 0 with p in order, one rounding per + and *, which is what zeroing a row and adding
// A(i,p) B[p] to it for p = 0, 1, ... computes (the single model's loops, vectorized across j). Eight lanes hold
// 3 x 4 outputs in registers while p runs (the row-at-a-time loops stored and reloaded every sum).
template <int kN, class F>
__attribute__((always_inline)) inline void mm_seq(F* c, int ldc, const F* a, int sa, int sp, const F* b, int ldb,
                                                  int M, int N, int K) {
  if constexpr (std::is_same_v<F, float> && kN > 0) {
    mm_chunks_f<kN, 0>(c, ldc, a, sa, sp, b, ldb, M, K);
  } else if constexpr (std::is_same_v<F, float>) {
    constexpr int MR = 4;
    for (int j = 0; j < N; j += 24) {
      const int w = N - j < 24 ? N - j : 24, nv = (w + 7) / 8, last = w - 8 * (nv - 1);
      switch (nv) {
        case 1: mm_rows_f<MR, 1, 0>(c + j, ldc, a, sa, sp, b + j, ldb, M, K, last); break;
        case 2: mm_rows_f<MR, 2, 0>(c + j, ldc, a, sa, sp, b + j, ldb, M, K, last); break;
        default: mm_rows_f<MR, 3, 0>(c + j, ldc, a, sa, sp, b + j, ldb, M, K, last); break;
      }
    }
  } else {
    constexpr int MR = 3;
    int i = 0;
    for (; i + MR <= M; i += MR) mm_cols<MR>(c + i * ldc, ldc, a + i * sa, sa, sp, b, ldb, N, K);
    if (M - i == 2) mm_cols<2>(c + i * ldc, ldc, a + i * sa, sa, sp, b, ldb, N, K);
    if (M - i == 1) mm_cols<1>(c + i * ldc, ldc, a + i * sa, sa, sp, b, ldb, N, K);
  }
}
// scalar::dot4's order (four partial sums, the tail into the first, (s0 + s1) + (s2 + s3)), lane by lane.
template <class F>
__attribute__((always_inline)) inline F dot4(const F* a, const F* b, int k) {
  F s0{}, s1{}, s2{}, s3{};
  int p = 0;
  for (; p + 4 <= k; p += 4) {
    s0 += a[p] * b[p];
    s1 += a[p + 1] * b[p + 1];
    s2 += a[p + 2] * b[p + 2];
    s3 += a[p + 3] * b[p + 3];
  }
  for (; p < k; ++p) s0 += a[p] * b[p];
  return (s0 + s1) + (s2 + s3);
}

// How dot4_rows writes a result r: c = r, c = 0 + r, or c = c + r (the callers' expressions).
enum class Put { Set, ZeroPlus, Add };
// One model's dot4_rows tile: MR rows against up to eight columns held transposed in bt [K][8], the four partial
// sums of every output in registers.
template <int MR, int NJ>
__attribute__((always_inline)) inline void dot4_tile_f(float* c, int ldc, const float* a, int lda, const Lanes* bt,
                                                       int K, int nj, Put put) {
  Lanes s[MR][4] = {};
  int p = 0;
#pragma GCC unroll 1
  for (; p + 4 <= K; p += 4)
#pragma GCC unroll 4
    for (int u = 0; u < 4; ++u)
#pragma GCC unroll 8
      for (int i = 0; i < MR; ++i) s[i][u] += a[i * lda + p + u] * bt[p + u];
#pragma GCC unroll 1
  for (; p < K; ++p)
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) s[i][0] += a[i * lda + p] * bt[p];
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i) {
    Lanes r = (s[i][0] + s[i][1]) + (s[i][2] + s[i][3]);
    if (put == Put::ZeroPlus) r = 0.0f + r;
    if constexpr (NJ > 0) {
      if (put == Put::Add) r = load_n<NJ>(c + i * ldc) + r;
      store_n<NJ>(c + i * ldc, r);
    } else {
      if (put == Put::Add) r = load_part(c + i * ldc, nj) + r;
      store_part(c + i * ldc, r, nj);
    }
  }
}
// C[i][j] (put) dot4(A_i, B_j) for i < M, j < N: A_i = a + i lda and B_j = b + j ldb hold K values each. One model
// vectorizes across j (eight columns of B transposed to a buffer at a time); eight lanes run the outputs one by one.
template <int kN, class F>
__attribute__((always_inline)) inline void dot4_rows(F* c, int ldc, const F* a, int lda, const F* b, int ldb, int M,
                                                     int N, int K, Put put) {
  constexpr int kMaxK = 256;
  if constexpr (std::is_same_v<F, float>) {
    if (K <= kMaxK) {
      Lanes bt[kMaxK];
      for (int j0 = 0; j0 < N; j0 += 8) {
        const int nj = N - j0 < 8 ? N - j0 : 8;
        for (int p = 0; p < K; ++p) {
          bt[p] = Lanes{};
          for (int j = 0; j < nj; ++j) bt[p][j] = b[(j0 + j) * ldb + p];
        }
        constexpr int MR = 3, NJ = kN > 0 && kN <= 8 ? kN : 0;  // the columns, when known (one block of eight)
        int i = 0;
        for (; i + MR <= M; i += MR) dot4_tile_f<MR, NJ>(c + i * ldc + j0, ldc, a + i * lda, lda, bt, K, nj, put);
        if (M - i == 2) dot4_tile_f<2, NJ>(c + i * ldc + j0, ldc, a + i * lda, lda, bt, K, nj, put);
        if (M - i == 1) dot4_tile_f<1, NJ>(c + i * ldc + j0, ldc, a + i * lda, lda, bt, K, nj, put);
      }
      return;
    }
  }
  for (int i = 0; i < M; ++i)
    for (int j = 0; j < N; ++j) {
      const F r = dot4(a + i * lda, b + j * ldb, K);
      F& out = c[i * ldc + j];
      out = put == Put::Set ? r : put == Put::ZeroPlus ? 0.0f + r : out + r;
    }
}

// Where one step reads and writes: a model's own tensors (F = float), or a lane-major buffer for eight models.
template <class F>
struct StepData {
  const F *XE, *PE, *Wq, *Wk, *Wv;
  F *xe, *pe, *x, *q, *k, *dot, *lam, *attn, *vm, *vo, *z, *p, *loss;
  F *dXE, *dPE, *dWq, *dWk, *dWv;
  F *dz, *dvm, *dd, *dq, *dk, *dx, *row_loss;
  const float* ids[kLanes<F>];  // each lane's token ids and targets [n]
  const float* tg[kLanes<F>];
  F* tmp;  // V values of scratch (the loss row's exponentials); a single model (F = float): null, on the stack
};

// Whether every lane's token at row r is the same one (always, for one model).
template <class F>
__attribute__((always_inline)) inline bool same_token(const StepData<F>& d, int r) {
  bool same = true;
  for (int l = 1; l < kLanes<F>; ++l) same = same && d.ids[l][r] == d.ids[0][r];
  return same;
}

// The step of one model or one group of lanes; the phases are model_step's (layers/toy_step.h), numbered the same.
// kB, kT, kV, kH > 0 fix those sizes at compile time (the notebook's: the loops unroll and vectorize); 0 = run time.
template <class F, int kB, int kT, int kV, int kH>
__attribute__((always_inline)) inline void step_body(const ToyStepArgs& a, const StepData<F>& d) {
  const int B = kB ? kB : static_cast<int>(a.B), T = kT ? kT : static_cast<int>(a.T);
  const int V = kV ? kV : static_cast<int>(a.V), E = V;
  const int H = kH ? kH : static_cast<int>(a.H), n = B * T;
  const F *XE = d.XE, *PE = d.PE, *Wq = d.Wq, *Wk = d.Wk, *Wv = d.Wv;
  F *xe = d.xe, *pe = d.pe, *x = d.x, *q = d.q, *k = d.k, *dot = d.dot, *lam = d.lam, *attn = d.attn;
  F *vm = d.vm, *vo = d.vo, *z = d.z, *p = d.p;
  F *dXE = d.dXE, *dPE = d.dPE, *dWq = d.dWq, *dWk = d.dWk, *dWv = d.dWv;
  F *dz = d.dz, *dvm = d.dvm, *dd = d.dd, *dq = d.dq, *dk = d.dk, *dx = d.dx, *row_loss = d.row_loss;
  const float divisor = static_cast<float>(n), seed = 1.0f / divisor;
  const float scale = a.scale;

  // 1. XEmbed, PosEmbed, XwithPos [n,E]: each lane gathers its own token's row (all lanes at once where they share
  // the token, as stacked seeds on the same batch do).
  for (int r = 0; r < n; ++r) {
    const int t = r % T;
    if (same_token(d, r)) {
      const int id = static_cast<int>(d.ids[0][r]);
      for (int e = 0; e < E; ++e) xe[r * E + e] = XE[id * E + e];
    } else {
      for (int l = 0; l < kLanes<F>; ++l) {
        const int id = static_cast<int>(d.ids[l][r]);
        for (int e = 0; e < E; ++e) lane(xe[r * E + e], l) = lane(XE[id * E + e], l);
      }
    }
    for (int e = 0; e < E; ++e) pe[r * E + e] = PE[t * E + e];
    for (int e = 0; e < E; ++e) x[r * E + e] = xe[r * E + e] + pe[r * E + e];
  }
  // 2. Qmat, Kmat [n,H], Vmat [n,V] = x · W: each output sums over e from 0 in order.
  mm_seq<kH>(q, H, x, E, 1, Wq, H, n, H, E);
  mm_seq<kH>(k, H, x, E, 1, Wk, H, n, H, E);
  mm_seq<kV>(vm, V, x, E, 1, Wv, V, n, V, E);
  // 3. dot, lambda, AttnWts (causal softmax with Keras' mask adder), a row at a time (toystep::attention_row).
  for (int b = 0; b < B; ++b) dot4_rows<kT>(dot + b * T * T, T, q + b * T * H, H, k + b * T * H, H, T, T, H, Put::Set);
  for (int r = 0; r < n; ++r) {
    const int i = r % T;
    F* ar = attn + r * T;
    F mx = splat<F>(-INFINITY);
    for (int j = 0; j < T; ++j) {
      const F dv = dot[r * T + j];
      lam[r * T + j] = dv * scale;
      const F v = lam[r * T + j] + scalar::mask_adder(j <= i ? 1.0f : 0.0f);
      ar[j] = v;
      mx = v > mx ? v : mx;
    }
    for (int j = 0; j < T; ++j) ar[j] = ar[j] - mx;
    exp_all(ar, T);
    F sum{};
    for (int j = 0; j < T; ++j) sum += ar[j];
    const F inv = 1.0f / sum;
    for (int j = 0; j < T; ++j) ar[j] *= inv;
  }
  // 4. Voutput = AttnWts · Vmat (over j in order), skipadd = Voutput + XwithPos, activation = sigmoid(skipadd).
  for (int b = 0; b < B; ++b) mm_seq<kV>(vo + b * T * V, V, attn + b * T * T, T, 1, vm + b * T * V, V, T, V, T);
  for (int r = 0; r < n; ++r) {
    const F* vor = vo + r * V;
    // scalar::sigmoid, 1 / (1 + expf(-z)): the exponentials of the row at once, then the + and / (the same
    // operations).
    F* pr = p + r * V;
    for (int v = 0; v < V; ++v) {
      z[r * V + v] = vor[v] + x[r * E + v];
      pr[v] = -z[r * V + v];
    }
    exp_all(pr, V);
    for (int v = 0; v < V; ++v) pr[v] = 1.0f / (1.0f + pr[v]);
  }
  // 5. Each row's loss term and d loss / d skipadd (toystep::loss_row; from the logits all lanes at once, the
  // normalized loss lane by lane); the residual starts dx.
  constexpr int kStackV = 64;  // a single model's exponentials on the stack up to this vocabulary
  for (int r = 0; r < n; ++r) {
    if (!a.normalized_loss && (!std::is_same_v<F, float> || V <= kStackV)) {
      F stack_e[std::is_same_v<F, float> ? kStackV : 1];
      row_loss[r] = loss_row_each<F>(z + r * V, d.tg, r, V, seed, dz + r * V, d.tmp ? d.tmp : stack_e);
    } else if constexpr (std::is_same_v<F, float>) {
      row_loss[r] =
          toystep::loss_row(z + r * V, p + r * V, static_cast<int>(d.tg[0][r]), V, seed, a.normalized_loss, dz + r * V);
    } else {
      float *zr = reinterpret_cast<float*>(d.tmp), *pr = zr + V, *dzr = pr + V;
      for (int l = 0; l < kLanes<F>; ++l) {
        for (int j = 0; j < V; ++j) zr[j] = lane(z[r * V + j], l), pr[j] = lane(p[r * V + j], l);
        lane(row_loss[r], l) =
            toystep::loss_row(zr, pr, static_cast<int>(d.tg[l][r]), V, seed, a.normalized_loss, dzr);
        for (int j = 0; j < V; ++j) lane(dz[r * V + j], l) = dzr[j];
      }
    }
    for (int e = 0; e < E; ++e) dx[r * E + e] = 0.0f + dz[r * E + e];
  }
  // 6. The loss (rows in order); d Vmat[b*T+j] = sum_i AttnWts[b*T+i, j] dz[b*T+i] (i in order); d AttnWts.
  F total{};
  for (int r = 0; r < n; ++r) total += row_loss[r];
  *d.loss = total / divisor;
  for (int b = 0; b < B; ++b) mm_seq<kV>(dvm + b * T * V, V, attn + b * T * T, 1, T, dz + b * T * V, V, T, V, T);
  for (int b = 0; b < B; ++b)
    dot4_rows<kT>(dd + b * T * T, T, dz + b * T * V, V, vm + b * T * V, V, T, T, V, Put::ZeroPlus);
  // 7. Softmax backward then the scale, in place on dd (toystep::attention_row_backward); dx += dvm · Wvᵀ;
  // d Wv = xᵀ dvm (over r in order).
  for (int r = 0; r < n; ++r) {
    F* dr = dd + r * T;
    const F* yr = attn + r * T;
    F sdy{};
    for (int j = 0; j < T; ++j) sdy += dr[j] * yr[j];
    for (int j = 0; j < T; ++j) {
      const F ds = 0.0f + (dr[j] - sdy) * yr[j];
      dr[j] = 0.0f + ds * scale;
    }
  }
  dot4_rows<kV>(dx, E, dvm, V, Wv, V, n, E, V, Put::Add);
  mm_seq<kV>(dWv, V, x, 1, E, dvm, V, E, V, n);
  // 8. d Qmat = dd · k (over j in order) and d Kmat = ddᵀ · q (over i in order) per sequence.
  for (int b = 0; b < B; ++b) {
    mm_seq<kH>(dq + b * T * H, H, dd + b * T * T, T, 1, k + b * T * H, H, T, H, T);
    mm_seq<kH>(dk + b * T * H, H, dd + b * T * T, 1, T, q + b * T * H, H, T, H, T);
  }
  // 9. dx += dk · Wkᵀ, then dx += dq · Wqᵀ; d Wk = xᵀ dk, d Wq = xᵀ dq (over r in order).
  dot4_rows<kV>(dx, E, dk, H, Wk, H, n, E, H, Put::Add);
  dot4_rows<kV>(dx, E, dq, H, Wq, H, n, E, H, Put::Add);
  mm_seq<kH>(dWk, H, x, 1, E, dk, H, E, H, n);
  mm_seq<kH>(dWq, H, x, 1, E, dq, H, E, H, n);
  // 10. Embedding gradients: each table row sums its occurrences' dx in row order (each lane its own rows).
  zero(dXE, V * E);
  zero(dPE, T * E);
  for (int r = 0; r < n; ++r) {
    if (same_token(d, r)) {
      const int id = static_cast<int>(d.ids[0][r]);
      for (int e = 0; e < E; ++e) dXE[id * E + e] += dx[r * E + e];
    } else {
      for (int l = 0; l < kLanes<F>; ++l) {
        const int id = static_cast<int>(d.ids[l][r]);
        for (int e = 0; e < E; ++e) lane(dXE[id * E + e], l) += lane(dx[r * E + e], l);
      }
    }
    for (int e = 0; e < E; ++e) dPE[(r % T) * E + e] += dx[r * E + e];
  }
}

// The notebook's sizes get compile-time loops; anything else the run-time ones.
template <class F>
__attribute__((always_inline)) inline void step_sized(const ToyStepArgs& a, const StepData<F>& d) {
  if (a.B == 2 && a.T == 5 && a.V == 7) {
    switch (a.H) {
      case 10: return step_body<F, 2, 5, 7, 10>(a, d);
      case 20: return step_body<F, 2, 5, 7, 20>(a, d);
      case 40: return step_body<F, 2, 5, 7, 40>(a, d);
      default: return step_body<F, 2, 5, 7, 0>(a, d);
    }
  }
  step_body<F, 0, 0, 0, 0>(a, d);
}

// Model m's step on its own tensors.
TOY_CPU_CLONES void model_step_cpu(const ToyStepArgs& a, int m) {
  const int64_t B = a.B, T = a.T, V = a.V, E = V, H = a.H, n = B * T;
  StepData<float> d;
  d.XE = a.xembed + m * V * E, d.PE = a.posembed + m * T * E;
  d.Wq = a.wq + m * E * H, d.Wk = a.wk + m * E * H, d.Wv = a.wv + m * E * V;
  d.xe = a.xe + m * n * E, d.pe = a.pe + m * n * E, d.x = a.x + m * n * E;
  d.q = a.q + m * n * H, d.k = a.k + m * n * H;
  d.dot = a.dot + m * n * T, d.lam = a.lam + m * n * T, d.attn = a.attn + m * n * T;
  d.vm = a.vm + m * n * V, d.vo = a.vo + m * n * V, d.z = a.z + m * n * V, d.p = a.p + m * n * V;
  d.loss = a.loss + m;
  d.dXE = a.d_xembed + m * V * E, d.dPE = a.d_posembed + m * T * E;
  d.dWq = a.d_wq + m * E * H, d.dWk = a.d_wk + m * E * H, d.dWv = a.d_wv + m * E * V;
  float* s = a.scratch + m * scratch_per_model(B, T, V, H);
  d.dz = s, d.dvm = d.dz + n * V, d.dd = d.dvm + n * V, d.dq = d.dd + n * T, d.dk = d.dq + n * H;
  d.dx = d.dk + n * H, d.row_loss = d.dx + n * E;
  d.ids[0] = a.ids + m * n, d.tg[0] = a.targets + m * n;
  d.tmp = nullptr;
  step_sized<float>(a, d);
}

// An 8 x 8 transpose in registers (unpack, shuffle, 128-bit permute: 24 shuffles): r[j] lane l becomes r[l] lane j.
// It moves the eight models' blocks into and out of the lane-major buffer a tile of eight floats at a time (the
// element-wise loop it replaces compiled to a permute and a blend per float and took a third of the lane step).
__attribute__((always_inline)) inline void transpose8(Lanes r[8]) {
  using I = int __attribute__((vector_size(32)));
  Lanes t[8], u[8];
#pragma GCC unroll 4
  for (int i = 0; i < 8; i += 2) {
    t[i] = __builtin_shuffle(r[i], r[i + 1], I{0, 8, 1, 9, 4, 12, 5, 13});       // unpacklo
    t[i + 1] = __builtin_shuffle(r[i], r[i + 1], I{2, 10, 3, 11, 6, 14, 7, 15});  // unpackhi
  }
#pragma GCC unroll 2
  for (int i = 0; i < 8; i += 4)
    for (int h = 0; h < 2; ++h) {
      u[i + 2 * h] = __builtin_shuffle(t[i + h], t[i + h + 2], I{0, 1, 8, 9, 4, 5, 12, 13});
      u[i + 2 * h + 1] = __builtin_shuffle(t[i + h], t[i + h + 2], I{2, 3, 10, 11, 6, 7, 14, 15});
    }
#pragma GCC unroll 4
  for (int i = 0; i < 4; ++i) {
    r[i] = __builtin_shuffle(u[i], u[i + 4], I{0, 1, 2, 3, 8, 9, 10, 11});
    r[i + 4] = __builtin_shuffle(u[i], u[i + 4], I{4, 5, 6, 7, 12, 13, 14, 15});
  }
}
// lane l of dst[j] = src[l][j], j < size: eight models' blocks into the lane-major buffer.
__attribute__((always_inline)) inline void lanes_in(const float* const src[8], Lanes* dst, int64_t size) {
  int64_t j = 0;
  for (; j + 8 <= size; j += 8) {
    Lanes r[8];
#pragma GCC unroll 8
    for (int l = 0; l < 8; ++l) r[l] = *reinterpret_cast<const LanesU*>(src[l] + j);
    transpose8(r);
#pragma GCC unroll 8
    for (int i = 0; i < 8; ++i) dst[j + i] = r[i];
  }
  for (; j < size; ++j)
    for (int l = 0; l < 8; ++l) lane(dst[j], l) = src[l][j];
}
// dst[l][j] = lane l of src[j], j < size: the lane-major results out to eight models' blocks.
__attribute__((always_inline)) inline void lanes_out(const Lanes* src, float* const dst[8], int64_t size) {
  int64_t j = 0;
  for (; j + 8 <= size; j += 8) {
    Lanes r[8];
#pragma GCC unroll 8
    for (int i = 0; i < 8; ++i) r[i] = src[j + i];
    transpose8(r);
#pragma GCC unroll 8
    for (int l = 0; l < 8; ++l) *reinterpret_cast<LanesU*>(dst[l] + j) = r[l];
  }
  for (; j < size; ++j)
    for (int l = 0; l < 8; ++l) dst[l][j] = lane(src[j], l);
}

// The step of models m0 .. m0+7, one per lane; `buf` is this thread's workspace (floats: a std::vector of the
// vector type would drop its 32-byte alignment, a template argument's attributes being ignored).
TOY_CPU_CLONES void lanes_step_cpu(const ToyStepArgs& a, int64_t m0, std::vector<float>& buf) {
  constexpr int L = kLanes<Lanes>;
  const int64_t B = a.B, T = a.T, V = a.V, E = V, H = a.H, n = B * T;
  const int64_t sizes[] = {V * E, T * E, E * H, E * H, E * V,                              // weights
                           n * E, n * E, n * E, n * H, n * H, n * T, n * T, n * T,         // xe .. attn
                           n * V, n * V, n * V, n * V, 1,                                  // vm .. p, loss
                           V * E, T * E, E * H, E * H, E * V,                              // gradients
                           n * V, n * V, n * T, n * H, n * H, n * E, n};                   // scratch
  int64_t total = 0;
  for (int64_t s : sizes) total += s;
  const int64_t floats = (total + V + 1) * L;  // + tmp (V Lanes >= 3 V floats) + one Lanes of slack for the alignment
  if (static_cast<int64_t>(buf.size()) < floats) buf.resize(static_cast<size_t>(floats));
  Lanes* at = reinterpret_cast<Lanes*>((reinterpret_cast<uintptr_t>(buf.data()) + sizeof(Lanes) - 1) &
                                       ~static_cast<uintptr_t>(sizeof(Lanes) - 1));
  Lanes* part[std::size(sizes)];
  for (size_t i = 0; i < std::size(sizes); ++i) part[i] = at, at += sizes[i];
  StepData<Lanes> d;
  d.XE = part[0], d.PE = part[1], d.Wq = part[2], d.Wk = part[3], d.Wv = part[4];
  d.xe = part[5], d.pe = part[6], d.x = part[7], d.q = part[8], d.k = part[9], d.dot = part[10], d.lam = part[11];
  d.attn = part[12], d.vm = part[13], d.vo = part[14], d.z = part[15], d.p = part[16], d.loss = part[17];
  d.dXE = part[18], d.dPE = part[19], d.dWq = part[20], d.dWk = part[21], d.dWv = part[22];
  d.dz = part[23], d.dvm = part[24], d.dd = part[25], d.dq = part[26], d.dk = part[27], d.dx = part[28];
  d.row_loss = part[29];
  d.tmp = at;
  for (int l = 0; l < L; ++l) d.ids[l] = a.ids + (m0 + l) * n, d.tg[l] = a.targets + (m0 + l) * n;

  // The weights in (model m's block of a stacked tensor starts at m * its size), the results out.
  const float* const weights[] = {a.xembed, a.posembed, a.wq, a.wk, a.wv};
  for (int i = 0; i < 5; ++i) {
    const float* src[L];
    for (int l = 0; l < L; ++l) src[l] = weights[i] + (m0 + l) * sizes[i];
    lanes_in(src, part[i], sizes[i]);
  }
  step_sized<Lanes>(a, d);
  float* const out[] = {a.xe, a.pe, a.x, a.q, a.k, a.dot, a.lam, a.attn, a.vm, a.vo, a.z, a.p, a.loss,
                        a.d_xembed, a.d_posembed, a.d_wq, a.d_wk, a.d_wv};
  for (int i = 0; i < 18; ++i) {
    float* dst[L];
    for (int l = 0; l < L; ++l) dst[l] = out[i] + (m0 + l) * sizes[5 + i];
    lanes_out(part[5 + i], dst, sizes[5 + i]);
  }
}

}  // namespace

void run_toy_step_cpu(const ToyStepArgs& a) {
  constexpr int64_t L = kLanes<Lanes>;
  int64_t m = 0;
  if (a.models >= L) {
    thread_local std::vector<float> buf;  // grows once per thread and shape: no allocation in steady state
    for (; m + L <= a.models; m += L) lanes_step_cpu(a, m, buf);
  }
  for (; m < a.models; ++m) model_step_cpu(a, static_cast<int>(m));
}

}  // namespace toy
