// Sparse categorical cross-entropy from logits and from probabilities (Keras' clip-and-normalize fallback).
// Forward: one group (warp or block) per row writes that row's loss to scratch, then sum_forward adds the rows in
// a fixed order and divides. Backward reads dloss on the device, so a captured graph needs no host round trip.
#include "core/scalar_ops.h"
#include "cuda/cuda_backend.h"
#include "cuda/cuda_context.h"
#include "cuda/kernel_utils.cuh"

namespace toy {

using cuda::blocks_for;
using cuda::group_max;
using cuda::group_sum;
using cuda::kBlock;
using cuda::kWarpRowLimit;
using cuda::stream;

namespace {

#define TOY_FOR_EACH_ROW(r, rows)                                                                               \
  for (int64_t r = static_cast<int64_t>(blockIdx.x) * (kBlock / kThreads) + threadIdx.x / kThreads; r < (rows); \
       r += static_cast<int64_t>(gridDim.x) * (kBlock / kThreads))

// As TF's sparse_xent kernel: loss_r = log(sum_k exp(z_k - m)) - (z_y - m), m = max_k z_k.
template <int kThreads>
__global__ void xent_logits_rows_kernel(const float* z, const float* t, int64_t rows, int64_t v, float* row_loss) {
  __shared__ float smem[32];
  const int lane = threadIdx.x % kThreads;
  TOY_FOR_EACH_ROW(r, rows) {
    const float* zr = z + r * v;
    float m = -INFINITY;
    for (int64_t k = lane; k < v; k += kThreads) m = fmaxf(m, zr[k]);
    m = group_max<kThreads>(m, smem);
    float s = 0.0f;
    for (int64_t k = lane; k < v; k += kThreads) s += expf(zr[k] - m);
    s = group_sum<kThreads>(s, smem);
    if (lane == 0) row_loss[r] = logf(s) - (zr[static_cast<int64_t>(t[r])] - m);
  }
}

// forward: L = sum_r (lse(z_r) - z_r[y]) / divisor  =>  dz += (dL / divisor) * (exp(z_k - m) / s - [k == y])
template <int kThreads>
__global__ void xent_logits_backward_kernel(const float* z, const float* t, int64_t rows, int64_t v, int64_t per,
                                            float divisor, const float* dloss, float* dz) {
  __shared__ float smem[32];
  const int lane = threadIdx.x % kThreads;
  TOY_FOR_EACH_ROW(r, rows) {
    const float seed = dloss[r / per] / divisor;
    const float* zr = z + r * v;
    const int64_t y = static_cast<int64_t>(t[r]);
    float m = -INFINITY;
    for (int64_t k = lane; k < v; k += kThreads) m = fmaxf(m, zr[k]);
    m = group_max<kThreads>(m, smem);
    float s = 0.0f;
    for (int64_t k = lane; k < v; k += kThreads) s += expf(zr[k] - m);
    s = group_sum<kThreads>(s, smem);
    for (int64_t k = lane; k < v; k += kThreads) {
      const float p = expf(zr[k] - m) / s;
      dz[r * v + k] += seed * (p - (k == y ? 1.0f : 0.0f));
    }
  }
}

// Keras' fallback: pc = clip(p); loss_r = log(sum_k pc_k) - log(pc_y).
template <int kThreads>
__global__ void xent_probs_rows_kernel(const float* p, const float* t, int64_t rows, int64_t v, float* row_loss) {
  __shared__ float smem[32];
  const int lane = threadIdx.x % kThreads;
  TOY_FOR_EACH_ROW(r, rows) {
    const float* pr = p + r * v;
    float s = 0.0f;
    for (int64_t k = lane; k < v; k += kThreads) s += scalar::clip_prob(pr[k]);
    s = group_sum<kThreads>(s, smem);
    if (lane == 0) row_loss[r] = logf(s) - logf(scalar::clip_prob(pr[static_cast<int64_t>(t[r])]));
  }
}

// forward: L = sum_r (log sum_k pc_k - log pc_y) / divisor  =>  dp_k += (dL/divisor)(1/S - [k==y]/pc_y) where the
// clip passes, else 0.
template <int kThreads>
__global__ void xent_probs_backward_kernel(const float* p, const float* t, int64_t rows, int64_t v, int64_t per,
                                           float divisor, const float* dloss, float* dp) {
  __shared__ float smem[32];
  const int lane = threadIdx.x % kThreads;
  TOY_FOR_EACH_ROW(r, rows) {
    const float seed = dloss[r / per] / divisor;
    const float* pr = p + r * v;
    const int64_t y = static_cast<int64_t>(t[r]);
    float s = 0.0f;
    for (int64_t k = lane; k < v; k += kThreads) s += scalar::clip_prob(pr[k]);
    s = group_sum<kThreads>(s, smem);
    for (int64_t k = lane; k < v; k += kThreads) {
      if (!scalar::clip_passes(pr[k])) continue;
      const float g = 1.0f / s - (k == y ? 1.0f / scalar::clip_prob(pr[k]) : 0.0f);
      dp[r * v + k] += seed * g;
    }
  }
}

#undef TOY_FOR_EACH_ROW

// loss[g] = (sum of row_loss over the `per` rows of group g, in order) / divisor: one thread per group.
__global__ void group_sum_kernel(const float* row_loss, int64_t groups, int64_t per, float divisor, float* loss) {
  TOY_GRID_STRIDE(g, groups) {
    float total = 0.0f;
    for (int64_t j = 0; j < per; ++j) total += row_loss[g * per + j];
    loss[g] = total / divisor;
  }
}

// One group: the backend's sum_forward (a block reduction); several: group_sum_kernel.
void reduce_groups(CudaBackend& backend, const float* row_loss, int64_t rows, int64_t groups, float divisor,
                   float* loss, cudaStream_t s) {
  if (groups == 1) {
    backend.sum_forward(row_loss, rows, divisor, loss);
    return;
  }
  group_sum_kernel<<<blocks_for(groups), kBlock, 0, s>>>(row_loss, groups, rows / groups, divisor, loss);
  TOY_CUDA_CHECK_LAUNCH();
}

// Launch a row kernel with a warp per row for short rows, a block per row for long ones.
#define TOY_LAUNCH_ROWS(kernel, rows, v, s, ...)                                    \
  do {                                                                              \
    if ((v) <= kWarpRowLimit)                                                       \
      kernel<32><<<blocks_for((rows), kBlock / 32), kBlock, 0, (s)>>>(__VA_ARGS__); \
    else                                                                            \
      kernel<kBlock><<<blocks_for((rows), 1), kBlock, 0, (s)>>>(__VA_ARGS__);       \
    TOY_CUDA_CHECK_LAUNCH();                                                        \
  } while (0)

}  // namespace

void CudaBackend::xent_logits_forward(const float* z, const float* targets, int64_t rows, int64_t v, int64_t groups,
                                      float divisor, float* loss) {
  const cudaStream_t s = stream();
  float* row_loss = cuda::scratch(static_cast<size_t>(rows));
  if (rows > 0 && v > 0) TOY_LAUNCH_ROWS(xent_logits_rows_kernel, rows, v, s, z, targets, rows, v, row_loss);
  reduce_groups(*this, row_loss, rows, groups, divisor, loss, s);
}

void CudaBackend::xent_logits_backward(const float* z, const float* targets, int64_t rows, int64_t v, int64_t groups,
                                       float divisor, const float* dloss, float* dz) {
  const cudaStream_t s = stream();
  if (rows <= 0 || v <= 0) return;
  TOY_LAUNCH_ROWS(xent_logits_backward_kernel, rows, v, s, z, targets, rows, v, rows / groups, divisor, dloss, dz);
}

void CudaBackend::xent_probs_forward(const float* p, const float* targets, int64_t rows, int64_t v, int64_t groups,
                                     float divisor, float* loss) {
  const cudaStream_t s = stream();
  float* row_loss = cuda::scratch(static_cast<size_t>(rows));
  if (rows > 0 && v > 0) TOY_LAUNCH_ROWS(xent_probs_rows_kernel, rows, v, s, p, targets, rows, v, row_loss);
  reduce_groups(*this, row_loss, rows, groups, divisor, loss, s);
}

void CudaBackend::xent_probs_backward(const float* p, const float* targets, int64_t rows, int64_t v, int64_t groups,
                                      float divisor, const float* dloss, float* dp) {
  const cudaStream_t s = stream();
  if (rows <= 0 || v <= 0) return;
  TOY_LAUNCH_ROWS(xent_probs_backward_kernel, rows, v, s, p, targets, rows, v, rows / groups, divisor, dloss, dp);
}

}  // namespace toy
