// Scalar math shared by the CPU and CUDA kernels, so both paths compute the same formula.
// Plain C++17; TOY_HD marks functions __host__ __device__ under nvcc.
#pragma once
#include <cmath>
#include <cstdint>

#ifdef __CUDACC__
#define TOY_HD __host__ __device__ __forceinline__
#else
#define TOY_HD inline
#endif

namespace toy::scalar {

// Keras' softmax mask: x + (1 - mask) * -1e9 (keras/layers/activation/softmax.py). Kept entries add -0.0 (exact).
constexpr float kMaskNegative = -1e9f;
TOY_HD float mask_adder(float mask) { return (1.0f - mask) * kMaskNegative; }

// Keras' epsilon for the clip-and-normalize cross-entropy (backend_config._EPSILON).
constexpr float kEpsilon = 1e-7f;

TOY_HD float sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }
// d sigmoid = y (1 - y), from the forward output.
TOY_HD float sigmoid_grad(float y, float dy) { return dy * y * (1.0f - y); }
TOY_HD float tanh_fwd(float x) { return tanhf(x); }
// d tanh = 1 - y^2, from the forward output.
TOY_HD float tanh_grad(float y, float dy) { return dy * (1.0f - y * y); }
TOY_HD float relu(float x) { return x > 0.0f ? x : 0.0f; }
// d relu = 1 where x > 0 (0 at the kink, as PyTorch and TF).
TOY_HD float relu_grad(float x, float dy) { return x > 0.0f ? dy : 0.0f; }

// sum_p a[p] b[p] for p < k with four partial sums (p mod 4, the tail into the first) added as (s0 + s1) + (s2 + s3):
// the order of the CPU's small products against a transposed right operand, and of the fused toy step's.
TOY_HD float dot4(const float* a, const float* b, int64_t k) {
  float s0 = 0.0f, s1 = 0.0f, s2 = 0.0f, s3 = 0.0f;
  int64_t p = 0;
  for (; p + 4 <= k; p += 4) {
    s0 += a[p] * b[p];
    s1 += a[p + 1] * b[p + 1];
    s2 += a[p + 2] * b[p + 2];
    s3 += a[p + 3] * b[p + 3];
  }
  for (; p < k; ++p) s0 += a[p] * b[p];
  return (s0 + s1) + (s2 + s3);
}

// beta^t for Adam's bias correction, rounded once from double: 1 - beta2^t magnifies a last-bit difference ~1000x
// at t = 1, and the CPU's and CUDA's powf may round differently; pow in double then one rounding agrees on both.
TOY_HD float pow_step(float beta, float t) {
  return static_cast<float>(pow(static_cast<double>(beta), static_cast<double>(t)));
}

// Keras' clip: maximum(minimum(p, 1-eps), eps); the gradient passes where eps <= p <= 1-eps, else 0.
TOY_HD float clip_prob(float p) {
  float hi = 1.0f - kEpsilon;
  float t = p < hi ? p : hi;
  return t > kEpsilon ? t : kEpsilon;
}
TOY_HD bool clip_passes(float p) { return p >= kEpsilon && p <= 1.0f - kEpsilon; }

// conv1d (cross-correlation, zero padding): y_i = sum_j w[j] x[i + j - pad_left] over the taps that land inside
// [0, l), j in increasing order, for one row x [l] and kernel w [k].
TOY_HD float conv1d_at(const float* x, int64_t l, const float* w, int64_t k, int64_t pad_left, int64_t i) {
  float s = 0.0f;
  for (int64_t j = 0; j < k; ++j) {
    const int64_t p = i + j - pad_left;
    if (p >= 0 && p < l) s += w[j] * x[p];
  }
  return s;
}
// Its input gradient at position p of one row: dx_p = sum_j w[j] dy[p - j + pad_left] over the outputs that exist
// (0 <= p - j + pad_left < l_out), j in increasing order.
TOY_HD float conv1d_dx_at(const float* dy, int64_t l_out, const float* w, int64_t k, int64_t pad_left, int64_t p) {
  float s = 0.0f;
  for (int64_t j = 0; j < k; ++j) {
    const int64_t i = p - j + pad_left;
    if (i >= 0 && i < l_out) s += w[j] * dy[i];
  }
  return s;
}

// layer_norm: rstd = 1 / sqrt(var + eps), xhat = (x - mean) rstd, y = xhat gamma + beta.
TOY_HD float layer_norm_rstd(float var, float eps) { return 1.0f / sqrtf(var + eps); }
TOY_HD float layer_norm_xhat(float x, float mean, float rstd) { return (x - mean) * rstd; }
// Its input gradient at one position, from the row's means of g = gamma dy and of g xhat:
// dx = rstd (g - mean_j g - xhat mean_j(g xhat)).
TOY_HD float layer_norm_dx(float g, float xhat, float rstd, float mean_g, float mean_gx) {
  return rstd * (g - mean_g - xhat * mean_gx);
}
// Its parameter gradients at entry k = g n + j of the [groups, n] parameters: dgamma = sum_r dy[r, j] xhat[r, j],
// dbeta = sum_r dy[r, j] over group g's rows r in [g per, (g+1) per), in order (x [rows, n], stats [rows, 2] = (mean,
// rstd) per row), so the CPU loop and the CUDA thread of entry k add the same terms in the same order.
TOY_HD void layer_norm_dparams_at(const float* x, const float* stats, const float* dy, int64_t per, int64_t n,
                                  int64_t k, float* dgamma_k, float* dbeta_k) {
  const int64_t j = k % n, first = k / n * per;
  float sg = 0.0f, sb = 0.0f;
  for (int64_t r = first; r < first + per; ++r) {
    const float d = dy[r * n + j];
    sg += d * layer_norm_xhat(x[r * n + j], stats[2 * r], stats[2 * r + 1]);
    sb += d;
  }
  *dgamma_k = sg;
  *dbeta_k = sb;
}

}  // namespace toy::scalar
