// Optimizer updates (Keras 2.10 legacy semantics; formulas in core/backend.h and the CPU reference). lr and step
// are read on the device, so a captured CUDA graph picks up schedule changes written between replays.
#include "core/scalar_ops.h"
#include "cuda/cuda_backend.h"
#include "cuda/cuda_context.h"
#include "cuda/kernel_utils.cuh"

namespace toy {

using cuda::blocks_for;
using cuda::kBlock;
using cuda::stream;

namespace {

__global__ void sgd_kernel(float* w, const float* g, int64_t n, const float* lr_p, int64_t gs) {
  TOY_GRID_STRIDE(i, n) w[i] -= g[i] * lr_p[i / gs];
}

__global__ void sgd_momentum_kernel(float* w, const float* g, float* m, int64_t n, const float* lr_p, int64_t gs,
                                    float momentum, bool nesterov) {
  TOY_GRID_STRIDE(i, n) {
    const float lr = lr_p[i / gs];
    const float mi = m[i] * momentum - g[i] * lr;
    m[i] = mi;
    w[i] += nesterov ? mi * momentum - g[i] * lr : mi;
  }
}

// Keras' python path (momentum == 0): ms = rho ms + (1-rho) g^2; w -= lr g / (sqrt(ms) + eps).
__global__ void rmsprop_kernel(float* w, const float* g, float* ms, int64_t n, const float* lr_p, int64_t gs, float rho,
                               float eps) {
  TOY_GRID_STRIDE(i, n) {
    const float lr = lr_p[i / gs];
    const float msi = rho * ms[i] + (1.0f - rho) * (g[i] * g[i]);
    ms[i] = msi;
    w[i] -= lr * g[i] / (sqrtf(msi) + eps);
  }
}

// TF's ApplyRMSProp (momentum > 0): ms += (g^2 - ms)(1-rho); mom = momentum mom + lr g / sqrt(ms + eps); w -= mom.
__global__ void rmsprop_momentum_kernel(float* w, const float* g, float* ms, float* mom, int64_t n, const float* lr_p,
                                        int64_t gs, float rho, float momentum, float eps) {
  TOY_GRID_STRIDE(i, n) {
    const float lr = lr_p[i / gs];
    const float msi = ms[i] + (g[i] * g[i] - ms[i]) * (1.0f - rho);
    ms[i] = msi;
    const float mi = mom[i] * momentum + (g[i] * lr) / sqrtf(msi + eps);
    mom[i] = mi;
    w[i] -= mi;
  }
}

// t = step[0]; lr_t = lr sqrt(1-b2^t)/(1-b1^t); m += (g-m)(1-b1); v += (g^2-v)(1-b2); w -= lr_t m / (sqrt(v)+eps).
__global__ void adam_kernel(float* w, const float* g, float* m, float* v, int64_t n, const float* lr_p, int64_t gs,
                            const float* step, float beta1, float beta2, float eps) {
  const float t = step[0];
  const float b1p = scalar::pow_step(beta1, t), b2p = scalar::pow_step(beta2, t);
  TOY_GRID_STRIDE(i, n) {
    const float alpha = lr_p[i / gs] * sqrtf(1.0f - b2p) / (1.0f - b1p);
    const float mi = m[i] + (g[i] - m[i]) * (1.0f - beta1);
    const float vi = v[i] + (g[i] * g[i] - v[i]) * (1.0f - beta2);
    m[i] = mi;
    v[i] = vi;
    w[i] -= (mi * alpha) / (sqrtf(vi) + eps);
  }
}

}  // namespace

void CudaBackend::sgd_update(float* w, const float* g, float* m, int64_t n, const float* lr, int64_t gs, float momentum,
                             bool nesterov) {
  const cudaStream_t s = stream();
  if (n <= 0) return;
  if (momentum == 0.0f)
    sgd_kernel<<<blocks_for(n), kBlock, 0, s>>>(w, g, n, lr, gs);
  else
    sgd_momentum_kernel<<<blocks_for(n), kBlock, 0, s>>>(w, g, m, n, lr, gs, momentum, nesterov);
  TOY_CUDA_CHECK_LAUNCH();
}

void CudaBackend::rmsprop_update(float* w, const float* g, float* ms, float* mom, int64_t n, const float* lr,
                                 int64_t gs, float rho, float momentum, float eps) {
  const cudaStream_t s = stream();
  if (n <= 0) return;
  if (momentum == 0.0f)
    rmsprop_kernel<<<blocks_for(n), kBlock, 0, s>>>(w, g, ms, n, lr, gs, rho, eps);
  else
    rmsprop_momentum_kernel<<<blocks_for(n), kBlock, 0, s>>>(w, g, ms, mom, n, lr, gs, rho, momentum, eps);
  TOY_CUDA_CHECK_LAUNCH();
}

void CudaBackend::adam_update(float* w, const float* g, float* m, float* v, int64_t n, const float* lr, int64_t gs,
                              const float* step, float beta1, float beta2, float eps) {
  const cudaStream_t s = stream();
  if (n <= 0) return;
  adam_kernel<<<blocks_for(n), kBlock, 0, s>>>(w, g, m, v, n, lr, gs, step, beta1, beta2, eps);
  TOY_CUDA_CHECK_LAUNCH();
}

}  // namespace toy
