// Softmax over rows (Keras mask) and its backward, plus the fixed-order sum that also finishes the cross-entropy.
// One warp per row for rows up to kWarpRowLimit long, one block per row above: each thread walks its strided
// slice of the row in order, then a fixed shuffle/shared-memory tree combines the partials (deterministic).
#include "core/scalar_ops.h"
#include "cuda/cuda_backend.h"
#include "cuda/cuda_context.h"
#include "cuda/kernel_utils.cuh"

namespace toy {

using cuda::blocks_for;
using cuda::group_max;
using cuda::group_sum;
using cuda::kBlock;
using cuda::stream;

namespace {

// As the CPU (TF's kernel): x' = x + (1-mask)*-1e9, e = exp(x' - max x'), y = e * (1 / sum e); a fully masked row
// (its mask row all 0) is all zeros.
template <int kThreads>
__global__ void softmax_forward_kernel(const float* x, int64_t rows, int64_t n, const float* mask, int64_t mask_rows,
                                       float* y) {
  __shared__ float smem[32];
  const int lane = threadIdx.x % kThreads;
  TOY_ROW_LOOP(r, rows, kThreads) {
    const float* xr = x + r * n;
    float* yr = y + r * n;
    const float* mr = mask ? mask + (r % mask_rows) * n : nullptr;
    float mx = -INFINITY, keep = 0.0f;
    for (int64_t j = lane; j < n; j += kThreads) {
      const float v = mr ? xr[j] + scalar::mask_adder(mr[j]) : xr[j];
      yr[j] = v;  // each thread rereads only what it wrote: no sync between the passes
      mx = fmaxf(mx, v);
      if (mr) keep = fmaxf(keep, mr[j]);
    }
    mx = group_max<kThreads>(mx, smem);
    if (mr) {  // uniform across the group (same row), so every thread of the group reaches the reduction
      keep = group_max<kThreads>(keep, smem);
      if (keep == 0.0f) {
        for (int64_t j = lane; j < n; j += kThreads) yr[j] = 0.0f;
        continue;
      }
    }
    float s = 0.0f;
    for (int64_t j = lane; j < n; j += kThreads) {
      const float ej = expf(yr[j] - mx);
      yr[j] = ej;
      s += ej;
    }
    const float inv = 1.0f / group_sum<kThreads>(s, smem);
    for (int64_t j = lane; j < n; j += kThreads) yr[j] *= inv;
  }
}

// forward: y = softmax(x)  =>  dx += y * (dy - sum_j dy_j y_j)
template <int kThreads>
__global__ void softmax_backward_kernel(const float* y, const float* dy, int64_t rows, int64_t n, float* dx) {
  __shared__ float smem[32];
  const int lane = threadIdx.x % kThreads;
  TOY_ROW_LOOP(r, rows, kThreads) {
    const float* yr = y + r * n;
    const float* dr = dy + r * n;
    float dot = 0.0f;
    for (int64_t j = lane; j < n; j += kThreads) dot += dr[j] * yr[j];
    dot = group_sum<kThreads>(dot, smem);
    for (int64_t j = lane; j < n; j += kThreads) dx[r * n + j] += (dr[j] - dot) * yr[j];
  }
}

// y[0] = sum(x) / divisor: a single block of kSumThreads, so the order depends on n only.
constexpr int kSumThreads = 1024;
__global__ void sum_forward_kernel(const float* x, int64_t n, float divisor, float* y) {
  __shared__ float smem[32];
  float s = 0.0f;
  for (int64_t i = threadIdx.x; i < n; i += kSumThreads) s += x[i];
  s = group_sum<kSumThreads>(s, smem);
  if (threadIdx.x == 0) y[0] = s / divisor;
}

// forward: y = sum(x) / divisor  =>  dx += dy / divisor (dy read on the device: a captured graph sees new seeds)
__global__ void sum_backward_kernel(const float* dy, int64_t n, float divisor, float* dx) {
  const float g = dy[0] / divisor;
  TOY_GRID_STRIDE(i, n) dx[i] += g;
}

}  // namespace

void CudaBackend::softmax_forward(const float* x, int64_t rows, int64_t n, const float* mask, int64_t mask_rows,
                                  float* y) {
  const cudaStream_t s = stream();
  if (rows <= 0 || n <= 0) return;
  cuda::launch_rows(rows, n, [&](auto threads, unsigned blocks) {
    softmax_forward_kernel<decltype(threads)::value><<<blocks, kBlock, 0, s>>>(x, rows, n, mask, mask_rows, y);
  });
}

void CudaBackend::softmax_backward(const float* y, const float* dy, int64_t rows, int64_t n, float* dx) {
  const cudaStream_t s = stream();
  if (rows <= 0 || n <= 0) return;
  cuda::launch_rows(rows, n, [&](auto threads, unsigned blocks) {
    softmax_backward_kernel<decltype(threads)::value><<<blocks, kBlock, 0, s>>>(y, dy, rows, n, dx);
  });
}

void CudaBackend::sum_forward(const float* x, int64_t n, float divisor, float* y) {
  const cudaStream_t s = stream();
  sum_forward_kernel<<<1, kSumThreads, 0, s>>>(x, n, divisor, y);
  TOY_CUDA_CHECK_LAUNCH();
}

void CudaBackend::sum_backward(const float* dy, int64_t n, float divisor, float* dx) {
  const cudaStream_t s = stream();
  if (n <= 0) return;
  sum_backward_kernel<<<blocks_for(n), kBlock, 0, s>>>(dy, n, divisor, dx);
  TOY_CUDA_CHECK_LAUNCH();
}

}  // namespace toy
