// layer_norm over rows and its backward, gamma and beta per group of rows. Row statistics and the input gradient: a
// row kernel (cuda/kernel_utils.cuh: a warp per row up to kWarpRowLimit, a block above), each thread walking its
// strided slice of the row in order before a fixed shuffle/shared-memory tree. The parameter gradients: one thread
// per parameter entry summing its group's rows in order. No atomics: the same inputs give bit-identical outputs.
#include "core/scalar_ops.h"
#include "cuda/cuda_backend.h"
#include "cuda/cuda_context.h"
#include "cuda/kernel_utils.cuh"

namespace toy {

using cuda::blocks_for;
using cuda::group_sum;
using cuda::kBlock;
using cuda::stream;

namespace {

// mean = sum x / n, var = sum (x - mean)^2 / n (two passes), rstd = 1 / sqrt(var + eps), y = (x - mean) rstd gamma +
// beta with gamma, beta of the row's group (per rows); stats[r] = (mean, rstd).
template <int kThreads>
__global__ void layer_norm_forward_kernel(const float* x, int64_t rows, int64_t n, int64_t per, const float* gamma,
                                          const float* beta, float eps, float* y, float* stats) {
  __shared__ float smem[32];
  const int lane = threadIdx.x % kThreads;
  const float fn = static_cast<float>(n);
  TOY_ROW_LOOP(r, rows, kThreads) {
    const float *xr = x + r * n, *gr = gamma + r / per * n, *br = beta + r / per * n;
    float s = 0.0f;
    for (int64_t j = lane; j < n; j += kThreads) s += xr[j];
    const float mean = group_sum<kThreads>(s, smem) / fn;
    float ss = 0.0f;
    for (int64_t j = lane; j < n; j += kThreads) ss += (xr[j] - mean) * (xr[j] - mean);
    const float rstd = scalar::layer_norm_rstd(group_sum<kThreads>(ss, smem) / fn, eps);
    for (int64_t j = lane; j < n; j += kThreads)
      y[r * n + j] = scalar::layer_norm_xhat(xr[j], mean, rstd) * gr[j] + br[j];
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
                                             int64_t rows, int64_t n, int64_t per, float* dx) {
  __shared__ float smem[32];
  const int lane = threadIdx.x % kThreads;
  const float fn = static_cast<float>(n);
  TOY_ROW_LOOP(r, rows, kThreads) {
    const float *xr = x + r * n, *dr = dy + r * n, *gr = gamma + r / per * n;
    const float mean = stats[2 * r], rstd = stats[2 * r + 1];
    float sg = 0.0f, sgx = 0.0f;
    for (int64_t j = lane; j < n; j += kThreads) {
      const float g = gr[j] * dr[j];
      sg += g;
      sgx += g * scalar::layer_norm_xhat(xr[j], mean, rstd);
    }
    const float mean_g = group_sum<kThreads>(sg, smem) / fn;
    const float mean_gx = group_sum<kThreads>(sgx, smem) / fn;
    for (int64_t j = lane; j < n; j += kThreads)
      dx[r * n + j] += scalar::layer_norm_dx(gr[j] * dr[j], scalar::layer_norm_xhat(xr[j], mean, rstd), rstd,
                                             mean_g, mean_gx);
  }
}

// forward: y = xhat gamma + beta  =>  dgamma[g, j] += sum_r dy[r, j] xhat[r, j], dbeta[g, j] += sum_r dy[r, j] over
// group g's rows in order; thread k = g n + j (adjacent threads read adjacent columns of a row).
__global__ void layer_norm_backward_params_kernel(const float* x, const float* stats, const float* dy, int64_t per,
                                                  int64_t n, int64_t entries, float* dgamma, float* dbeta) {
  TOY_GRID_STRIDE(k, entries) {
    float dg = 0.0f, db = 0.0f;
    scalar::layer_norm_dparams_at(x, stats, dy, per, n, k, &dg, &db);
    if (dgamma) dgamma[k] += dg;
    if (dbeta) dbeta[k] += db;
  }
}

}  // namespace

void CudaBackend::layer_norm_forward(const float* x, int64_t rows, int64_t n, int64_t groups, const float* gamma,
                                     const float* beta, float eps, float* y, float* stats) {
  const cudaStream_t s = stream();
  if (rows <= 0 || n <= 0) return;
  const int64_t per = rows / groups;
  cuda::launch_rows(rows, n, [&](auto threads, unsigned blocks) {
    layer_norm_forward_kernel<decltype(threads)::value><<<blocks, kBlock, 0, s>>>(x, rows, n, per, gamma, beta, eps,
                                                                                   y, stats);
  });
}

void CudaBackend::layer_norm_backward(const float* x, const float* gamma, const float* stats, const float* dy,
                                      int64_t rows, int64_t n, int64_t groups, float* dx, float* dgamma,
                                      float* dbeta) {
  const cudaStream_t s = stream();
  if (rows <= 0 || n <= 0) return;
  const int64_t per = rows / groups;
  if (dx)
    cuda::launch_rows(rows, n, [&](auto threads, unsigned blocks) {
      layer_norm_backward_x_kernel<decltype(threads)::value><<<blocks, kBlock, 0, s>>>(x, gamma, stats, dy, rows, n,
                                                                                       per, dx);
    });
  if (dgamma || dbeta) {
    layer_norm_backward_params_kernel<<<blocks_for(groups * n), kBlock, 0, s>>>(x, stats, dy, per, n, groups * n,
                                                                                 dgamma, dbeta);
    TOY_CUDA_CHECK_LAUNCH();
  }
}

}  // namespace toy
