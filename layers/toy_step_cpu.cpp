// The toy model's fused step on the CPU, written for the CPU: the same arithmetic as layers/toy_step.h's
// model_step (which the CUDA kernel runs) in the same order for every output element, so the two agree bit for bit.
// Two ways to vectorize without changing any element's order of operations:
//   - one model: eight consecutive outputs of a row (of q, vo, dvm, dWq, ...) in one vector, a tile of such vectors
//     summed in registers, each output keeping its own sequential sum;
//   - a stack: eight models at once, one per SIMD lane (GCC vector types), each lane doing its own model's
//     arithmetic in the one-model order, so a model gets the same bits in a stack as alone. The lanes read their
//     models' weights and inputs gathered into a lane-major buffer and the results go back to the models' tensors;
//     with SGD inside the step (ToyStepArgs::sgd_lr) the lanes update the weights themselves, and may keep them
//     lane-major from one step to the next (ToyStepArgs::lane_weights: no weights in, no gradients out).
// The code (toy_step_cpu_isa.inc) is compiled twice, for the x86-64 baseline (SSE2) and for AVX2, and the CPU it
// runs on picks one at run time; both give the same bits (no contraction to FMA in this file, no reassociation: one
// rounding per + and *, lane by lane). An AVX-512 copy was slower at H=20 (16 + 4 lanes) and no faster at H=10 and
// 40 on the dev machine's Zen 4.
#include <cmath>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "core/cpu/expf8.h"
#include "layers/toy_step.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#endif

namespace toy {
namespace {

using toystep::scratch_per_model;

// Eight floats, one per model of a group of stacked models.
using Lanes = float __attribute__((vector_size(32)));
using LanesI = int __attribute__((vector_size(32)));  // a lane-wise compare's mask
template <class F>
constexpr int kLanes = sizeof(F) / sizeof(float);

// The lane-major buffer of eight models, in Lanes: the weights (XE, PE, Wq, Wk, Wv), the activations (xe .. p),
// the loss, the gradients (as the weights), the scratch (dz, dvm, dd, dq, dk, dx, row_loss); then V Lanes of tmp.
constexpr int kLaneParts = 30;
void lane_part_sizes(const ToyStepArgs& a, int64_t (&sizes)[kLaneParts]) {
  const int64_t B = a.B, T = a.T, V = a.V, E = V, H = a.H, n = B * T;
  const int64_t s[kLaneParts] = {V * E, T * E, E * H, E * H, E * V,                        // weights
                                 n * E, n * E, n * E, n * H, n * H, n * T, n * T, n * T,   // xe .. attn
                                 n * V, n * V, n * V, n * V, 1,                            // vm .. p, loss
                                 V * E, T * E, E * H, E * H, E * V,                        // gradients
                                 n * V, n * V, n * T, n * H, n * H, n * E, n};             // scratch
  for (int i = 0; i < kLaneParts; ++i) sizes[i] = s[i];
}
// The resident weights of one group of eight models (ToyStepArgs::lane_weights), in Lanes; and the buffer, aligned.
int64_t lane_weights_per_group(const ToyStepArgs& a) {
  int64_t sizes[kLaneParts];
  lane_part_sizes(a, sizes);
  return sizes[0] + sizes[1] + sizes[2] + sizes[3] + sizes[4];
}
Lanes* aligned_lanes(float* p) {
  return reinterpret_cast<Lanes*>((reinterpret_cast<uintptr_t>(p) + sizeof(Lanes) - 1) &
                                  ~static_cast<uintptr_t>(sizeof(Lanes) - 1));
}
int64_t lanes_buffer_size(const ToyStepArgs& a) {
  int64_t sizes[kLaneParts], total = a.V;  // + tmp (V Lanes >= 3 V floats)
  lane_part_sizes(a, sizes);
  for (int64_t s : sizes) total += s;
  return total;
}

// The step's code twice, in two namespaces: ordinary functions, which the compiler inlines where it pays. (GCC's
// target_clones on the two entry points needed every helper force-inlined into them, twenty bodies of fully expanded
// tiles: 8 minutes to compile, 20+ under clang's UBSan; these copies compile in under 20 s and run as fast.)
namespace base {
#include "layers/toy_step_cpu_isa.inc"
}  // namespace base

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define TOY_HAVE_AVX2_COPY 1
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2")
#endif
#define TOY_ISA_AVX2 1  // (GCC's target pragma does not define __AVX2__ in C++)
namespace avx2 {
#include "layers/toy_step_cpu_isa.inc"
}  // namespace avx2
#undef TOY_ISA_AVX2
#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
#endif

// Whether to run the AVX2 copy: the CPU has it and the caller did not ask for the baseline.
bool use_avx2([[maybe_unused]] bool baseline) {
#ifdef TOY_HAVE_AVX2_COPY
  static const bool has_avx2 = __builtin_cpu_supports("avx2");
  return has_avx2 && !baseline;
#else
  return false;
#endif
}

}  // namespace

void run_toy_step_cpu(const ToyStepArgs& a, bool baseline) {
  constexpr int64_t L = kLanes<Lanes>;
  [[maybe_unused]] const bool avx2 = use_avx2(baseline);
  int64_t m = 0;
  if (a.models >= L) {
    // This thread's lane-major buffer (floats: a std::vector of the vector type would drop its 32-byte alignment, a
    // template argument's attributes being ignored); grows once per thread and shape: no allocation in steady state.
    thread_local std::vector<float> buf;
    const size_t floats = static_cast<size_t>((lanes_buffer_size(a) + 1) * L);  // + one Lanes of slack to align
    if (buf.size() < floats) buf.resize(floats);
    Lanes* at = aligned_lanes(buf.data());
    Lanes* resident = a.sgd_lr && a.lane_weights ? aligned_lanes(a.lane_weights) : nullptr;
    const int64_t per_group = lane_weights_per_group(a);
    for (; m + L <= a.models; m += L, resident = resident ? resident + per_group : nullptr) {
#ifdef TOY_HAVE_AVX2_COPY
      if (avx2) {
        avx2::lanes_step_cpu(a, m, at, resident);
        continue;
      }
#endif
      base::lanes_step_cpu(a, m, at, resident);
    }
  }
  for (; m < a.models; ++m) {
#ifdef TOY_HAVE_AVX2_COPY
    if (avx2)
      avx2::model_step_cpu(a, static_cast<int>(m));
    else
#endif
      base::model_step_cpu(a, static_cast<int>(m));
    if (a.sgd_lr) toystep::sgd_model(a, m);
  }
}

int64_t toy_lane_weights_floats(const ToyStepArgs& a) {
  return (a.models / kLanes<Lanes> * lane_weights_per_group(a) + 1) * kLanes<Lanes>;  // + one Lanes to align
}

void toy_lane_weights_out(const ToyStepArgs& a) {
  constexpr int64_t L = kLanes<Lanes>;
  if (!a.lane_weights || !a.lane_weights_current) return;
  const Lanes* resident = aligned_lanes(a.lane_weights);
  for (int64_t m = 0; m + L <= a.models; m += L, resident += lane_weights_per_group(a)) {
#ifdef TOY_HAVE_AVX2_COPY
    if (use_avx2(false)) {
      avx2::lane_weights_out(a, m, resident);
      continue;
    }
#endif
    base::lane_weights_out(a, m, resident);
  }
}

}  // namespace toy
