// layer_norm over rows and its backward. Row statistics and the input gradient: one warp per row for rows up to
// kWarpRowLimit long, one block per row above (as softmax), each thread walking its strided slice of the row in order
// before a fixed shuffle/shared-memory tree. The parameter gradients: one thread per column summing the rows in order.
// No atomics: the same inputs give bit-identical outputs.
#include "core/scalar_ops.h"
#include "cuda/cuda_backend.h"
#include "cuda/cuda_context.h"
#include "cuda/kernel_utils.cuh"

namespace toy {

using cuda::blocks_for;
using cuda::group_sum;
using cuda::kBlock;
using cuda::kWarpRowLimit;
using cuda::stream;

namespace {

// mean = sum x / n, var = sum (x - mean)^2 / n (two passes), rstd = 1 / sqrt(var + eps), y = (x - mean) rstd gamma +
// beta; stats[r] = (mean, rstd).
template <int kThreads>
__global__ void layer_norm_forward_kernel(const float* x, int64_t rows, int64_t n, const float* gamma,
                                          const float* beta, float eps, float* y, float* stats) {
  __shared__ float smem[32];
  constexpr int kGroups = kBlock / kThreads;
  const int lane = threadIdx.x % kThreads;
  const float fn = static_cast<float>(n);
  for (int64_t r = static_cast<int64_t>(blockIdx.x) * kGroups + threadIdx.x / kThreads; r < rows;
       r += static_cast<int64_t>(gridDim.x) * kGroups) {
    const float* xr = x + r * n;
    float s = 0.0f;
    for (int64_t j = lane; j < n; j += kThreads) s += xr[j];
    const float mean = group_sum<kThreads>(s, smem) / fn;
    float ss = 0.0f;
    for (int64_t j = lane; j < n; j += kThreads) ss += (xr[j] - mean) * (xr[j] - mean);
    const float rstd = scalar::layer_norm_rstd(group_sum<kThreads>(ss, smem) / fn, eps);
    for (int64_t j = lane; j < n; j += kThreads)
      y[r * n + j] = scalar::layer_norm_xhat(xr[j], mean, rstd) * gamma[j] + beta[j];
    if (lane == 0) {
      stats[2 * r] = mean;
      stats[2 * r + 1] = rstd;
    }
  }
}

// forward: y = xhat gamma + beta, xhat = (x - mean) rstd  =>  dx += rstd (g - mean_j g - xhat mean_j(g xhat)),
// g = gamma dy
template <int kThreads>
__global__ void layer_norm_backward_x_kernel(const float* x, const float* gamma, const float* stats, const float* dy,
                                             int64_t rows, int64_t n, float* dx) {
  __shared__ float smem[32];
  constexpr int kGroups = kBlock / kThreads;
  const int lane = threadIdx.x % kThreads;
  const float fn = static_cast<float>(n);
  for (int64_t r = static_cast<int64_t>(blockIdx.x) * kGroups + threadIdx.x / kThreads; r < rows;
       r += static_cast<int64_t>(gridDim.x) * kGroups) {
    const float *xr = x + r * n, *dr = dy + r * n;
    const float mean = stats[2 * r], rstd = stats[2 * r + 1];
    float sg = 0.0f, sgx = 0.0f;
    for (int64_t j = lane; j < n; j += kThreads) {
      const float g = gamma[j] * dr[j];
      sg += g;
      sgx += g * scalar::layer_norm_xhat(xr[j], mean, rstd);
    }
    const float mean_g = group_sum<kThreads>(sg, smem) / fn;
    const float mean_gx = group_sum<kThreads>(sgx, smem) / fn;
    for (int64_t j = lane; j < n; j += kThreads)
      dx[r * n + j] += scalar::layer_norm_dx(gamma[j] * dr[j], scalar::layer_norm_xhat(xr[j], mean, rstd), rstd,
                                             mean_g, mean_gx);
  }
}

// forward: y = xhat gamma + beta  =>  dgamma[j] += sum_r dy[r, j] xhat[r, j], dbeta[j] += sum_r dy[r, j]; thread j
// sums column j over the rows in order (adjacent threads read adjacent columns of a row).
__global__ void layer_norm_backward_params_kernel(const float* x, const float* stats, const float* dy, int64_t rows,
                                                  int64_t n, float* dgamma, float* dbeta) {
  TOY_GRID_STRIDE(j, n) {
    float dg = 0.0f, db = 0.0f;
    scalar::layer_norm_dparams_at(x, stats, dy, rows, n, j, &dg, &db);
    if (dgamma) dgamma[j] += dg;
    if (dbeta) dbeta[j] += db;
  }
}

}  // namespace

void CudaBackend::layer_norm_forward(const float* x, int64_t rows, int64_t n, const float* gamma, const float* beta,
                                     float eps, float* y, float* stats) {
  const cudaStream_t s = stream();
  if (rows <= 0 || n <= 0) return;
  if (n <= kWarpRowLimit)
    layer_norm_forward_kernel<32><<<blocks_for(rows, kBlock / 32), kBlock, 0, s>>>(x, rows, n, gamma, beta, eps, y,
                                                                                     stats);
  else
    layer_norm_forward_kernel<kBlock><<<blocks_for(rows, 1), kBlock, 0, s>>>(x, rows, n, gamma, beta, eps, y, stats);
  TOY_CUDA_CHECK_LAUNCH();
}

void CudaBackend::layer_norm_backward(const float* x, const float* gamma, const float* stats, const float* dy,
                                      int64_t rows, int64_t n, float* dx, float* dgamma, float* dbeta) {
  const cudaStream_t s = stream();
  if (rows <= 0 || n <= 0) return;
  if (dx) {
    if (n <= kWarpRowLimit)
      layer_norm_backward_x_kernel<32><<<blocks_for(rows, kBlock / 32), kBlock, 0, s>>>(x, gamma, stats, dy, rows, n,
                                                                                        dx);
    else
      layer_norm_backward_x_kernel<kBlock><<<blocks_for(rows, 1), kBlock, 0, s>>>(x, gamma, stats, dy, rows, n, dx);
    TOY_CUDA_CHECK_LAUNCH();
  }
  if (dgamma || dbeta) {
    layer_norm_backward_params_kernel<<<blocks_for(n), kBlock, 0, s>>>(x, stats, dy, rows, n, dgamma, dbeta);
    TOY_CUDA_CHECK_LAUNCH();
  }
}

}  // namespace toy
