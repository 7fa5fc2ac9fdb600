// The backend interface: every kernel the engine runs, as a pure virtual, implemented by core/cpu (Eigen) and
// cuda/ (CUDA + cuBLAS). A kernel missing from either backend is a compile error. Kernels get raw pointers of the
// backend's device and validated sizes: all checking happens at op entry (autograd/ops), never here.
// Backward kernels ACCUMULATE (+=) into input gradients, because an input may feed several consumers.
// Plain C++17 (included from .cu files).
#pragma once
#include <cstddef>
#include <cstdint>

#include "core/device.h"

namespace toy {

enum class Unary { Sigmoid, Tanh, Relu };

// C[b] = alpha * op(A[b]) · op(B[b]) + beta * C[b] for b < batch, all row-major.
// op(A) is m x k (A stored k x m when trans_a), op(B) is k x n (B stored n x k when trans_b), C is m x n.
// A stride of 0 broadcasts that operand over the batch (C's stride must not be 0 unless batch == 1).
struct GemmArgs {
  bool trans_a = false, trans_b = false;
  int64_t batch = 1, m = 0, n = 0, k = 0;
  const float* a = nullptr;
  int64_t stride_a = 0;
  const float* b = nullptr;
  int64_t stride_b = 0;
  float* c = nullptr;
  int64_t stride_c = 0;
  float alpha = 1.0f, beta = 0.0f;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual Device device() const = 0;
  virtual const char* name() const = 0;

  // ---- memory (n counts floats) ----
  virtual float* allocate(size_t n) = 0;
  virtual void deallocate(float* p, size_t n) = 0;
  virtual void copy_to_host(float* host_dst, const float* src, size_t n) = 0;
  virtual void copy_from_host(float* dst, const float* host_src, size_t n) = 0;
  virtual void copy(float* dst, const float* src, size_t n) = 0;
  virtual void fill(float* dst, size_t n, float value) = 0;
  // x[0] += v (a device-side scalar, e.g. an optimizer's step counter).
  virtual void increment(float* x, float v) = 0;
  // Wait until all queued work is done (no-op on the CPU).
  virtual void synchronize() = 0;

  // ---- embedding: out[i, :] = table[ids[i], :], ids [n] hold integers as floats, validated at op entry.
  virtual void embedding_forward(const float* ids, int64_t n, const float* table, int64_t e, float* out) = 0;
  // dtable[ids[i], :] += dout[i, :] for rows != padding_idx (-1 = none); deterministic order (no atomics).
  virtual void embedding_backward(const float* ids, int64_t n, const float* dout, int64_t e, int64_t padding_idx,
                                  int64_t rows, float* dtable) = 0;

  // ---- add with b broadcast over a middle axis of a: a [G, R, S] viewed flat (na = G R S), b [G, S] (nb = G S),
  // inner = S: y[g, r, s] = a[g, r, s] + b[g, s]. inner == nb (G = 1) is the broadcast over leading axes,
  // y[i] = a[i] + b[i % nb]; nb == na is the elementwise sum.
  virtual void add_forward(const float* a, int64_t na, const float* b, int64_t nb, int64_t inner, float* y) = 0;
  // da += dy (da may be null); db[g, s] += sum_r dy[g, r, s], the R terms summed in order, then added (db may be
  // null).
  virtual void add_backward(const float* dy, int64_t na, int64_t nb, int64_t inner, float* da, float* db) = 0;

  // ---- scale by a constant: y = c x; dx += c dy.
  virtual void scale_forward(const float* x, int64_t n, float c, float* y) = 0;
  virtual void scale_backward(const float* dy, int64_t n, float c, float* dx) = 0;

  // ---- elementwise activations (formulas in core/scalar_ops.h); backward gets x and y, uses what it needs.
  virtual void unary_forward(Unary op, const float* x, int64_t n, float* y) = 0;
  virtual void unary_backward(Unary op, const float* x, const float* y, const float* dy, int64_t n, float* dx) = 0;

  // ---- matrix products.
  virtual void gemm(const GemmArgs& g) = 0;

  // ---- softmax over the last axis: rows of length n. mask (may be null) is [mask_rows, n] of 0/1, applied the
  // Keras way (x + (1-mask)*-1e9) to row r with mask row r % mask_rows. A row whose mask row is all 0 (every key
  // masked) gets all-zero weights (so its backward, y * (...), is zero too).
  virtual void softmax_forward(const float* x, int64_t rows, int64_t n, const float* mask, int64_t mask_rows,
                               float* y) = 0;
  // dx += y * (dy - sum(dy * y)) per row.
  virtual void softmax_backward(const float* y, const float* dy, int64_t rows, int64_t n, float* dx) = 0;

  // ---- column blocks of the last axis (x viewed as [rows, n]); multi-head attention's head split and merge.
  // slice_last: y [rows, len] = x[:, start : start + len].
  virtual void slice_last_forward(const float* x, int64_t rows, int64_t n, int64_t start, int64_t len, float* y) = 0;
  // dx[:, start : start + len] += dy.
  virtual void slice_last_backward(const float* dy, int64_t rows, int64_t n, int64_t start, int64_t len,
                                   float* dx) = 0;
  // concat_last, one input at a time: y [rows, total][:, offset : offset + n] = x [rows, n].
  virtual void concat_last_forward(const float* x, int64_t rows, int64_t n, int64_t total, int64_t offset,
                                   float* y) = 0;
  // dx += dy[:, offset : offset + n].
  virtual void concat_last_backward(const float* dy, int64_t rows, int64_t n, int64_t total, int64_t offset,
                                    float* dx) = 0;

  // ---- conv1d: one kernel w [k] slid along each row of x [rows, l] (cross-correlation, no flip), zero padding of
  // pad_left on the left (and as much as l_out needs on the right): y[r, i] = sum_j w[j] x[r, i + j - pad_left].
  virtual void conv1d_forward(const float* x, int64_t rows, int64_t l, const float* w, int64_t k, int64_t pad_left,
                              int64_t l_out, float* y) = 0;
  // dx[r, p] += sum_j w[j] dy[r, p - j + pad_left];  dw[j] += sum_{r, i} dy[r, i] x[r, i + j - pad_left].
  // dx or dw may be null (not needed).
  virtual void conv1d_backward(const float* x, const float* w, const float* dy, int64_t rows, int64_t l, int64_t k,
                               int64_t pad_left, int64_t l_out, float* dx, float* dw) = 0;

  // ---- layer_norm over rows of n (x [rows, n]) in `groups` equal consecutive groups of rows, gamma and beta
  // [groups, n] (group g's rows use row g), two-pass population statistics:
  // mean = sum_j x_j / n, var = sum_j (x_j - mean)^2 / n, rstd = 1 / sqrt(var + eps), xhat = (x - mean) rstd,
  // y = xhat gamma + beta. stats [rows, 2] receives (mean, rstd) per row, for the backward.
  virtual void layer_norm_forward(const float* x, int64_t rows, int64_t n, int64_t groups, const float* gamma,
                                  const float* beta, float eps, float* y, float* stats) = 0;
  // With g = gamma dy: dx += rstd (g - mean_j g - xhat mean_j(g xhat)) per row; dgamma[g, j] += sum_r dy xhat,
  // dbeta[g, j] += sum_r dy, each column summed over group g's rows in order. dx, dgamma or dbeta may be null.
  virtual void layer_norm_backward(const float* x, const float* gamma, const float* stats, const float* dy,
                                   int64_t rows, int64_t n, int64_t groups, float* dx, float* dgamma,
                                   float* dbeta) = 0;

  // ---- reductions to a scalar: y[0] = sum(x) / divisor (divisor 1 = sum, n = mean); dx[i] += dy[0] / divisor.
  virtual void sum_forward(const float* x, int64_t n, float divisor, float* y) = 0;
  virtual void sum_backward(const float* dy, int64_t n, float divisor, float* dx) = 0;

  // ---- sparse categorical cross-entropy over rows of v classes, targets hold integer ids as floats. The rows form
  // `groups` equal consecutive groups (independent models stacked on a leading axis; 1 = one model): row r belongs
  // to group g = r / (rows / groups), and loss / dloss hold one value per group. Each group's rows are summed in
  // order, then divided.
  // From logits: loss[g] = sum_{r in g} (logsumexp(z_r) - z_r[y_r]) / divisor.
  virtual void xent_logits_forward(const float* z, const float* targets, int64_t rows, int64_t v, int64_t groups,
                                   float divisor, float* loss) = 0;
  // dz[r, k] += (dloss[g] / divisor) * (softmax(z_r)_k - [k == y_r]).
  virtual void xent_logits_backward(const float* z, const float* targets, int64_t rows, int64_t v, int64_t groups,
                                    float divisor, const float* dloss, float* dz) = 0;
  // From probabilities, Keras' fallback: pc = clip(p, eps, 1-eps); loss[g] = sum_{r in g} -log(pc_y / sum_k pc_k) /
  // divisor.
  virtual void xent_probs_forward(const float* p, const float* targets, int64_t rows, int64_t v, int64_t groups,
                                  float divisor, float* loss) = 0;
  // dp[r, k] += (dloss[g] / divisor) * (1/sum_k pc_k - [k == y_r] / pc_y), zero where the clip is active.
  virtual void xent_probs_backward(const float* p, const float* targets, int64_t rows, int64_t v, int64_t groups,
                                   float divisor, const float* dloss, float* dp) = 0;

  // ---- optimizer updates (Keras 2.10 legacy semantics, see optim/). lr and step live on the device so a
  // captured CUDA graph sees schedule changes. Element i uses lr[i / group_size]: group_size = n for one model,
  // the size of one model's slice when independent models are stacked on a leading axis.
  // momentum == 0: w -= lr * g. Else m = momentum*m - lr*g; w += m (nesterov: w += momentum*m - lr*g).
  virtual void sgd_update(float* w, const float* g, float* m, int64_t n, const float* lr, int64_t group_size,
                          float momentum, bool nesterov) = 0;
  // momentum == 0 (Keras' python path): ms = rho*ms + (1-rho) g^2; w -= lr g / (sqrt(ms) + eps).
  // momentum > 0 (TF's ApplyRMSProp kernel): ms += (g^2 - ms)(1-rho); mom = momentum*mom + lr g / sqrt(ms + eps);
  // w -= mom.
  virtual void rmsprop_update(float* w, const float* g, float* ms, float* mom, int64_t n, const float* lr,
                              int64_t group_size, float rho, float momentum, float eps) = 0;
  // t = step[0] (already incremented for this step); lr_t = lr sqrt(1-b2^t)/(1-b1^t);
  // m += (g-m)(1-b1); v += (g^2-v)(1-b2); w -= lr_t m / (sqrt(v) + eps).
  virtual void adam_update(float* w, const float* g, float* m, float* v, int64_t n, const float* lr,
                           int64_t group_size, const float* step, float beta1, float beta2, float eps) = 0;
};

// The backend for a device: the one place backends are chosen (core/backend.cpp).
Backend& backend(Device d);
// The CUDA backend, defined in cuda/ (cuda/no_cuda.cpp when built without CUDA: it throws).
Backend& cuda_backend();
// True when the CUDA backend is compiled in and a GPU is usable (false on any CUDA error).
bool cuda_available();
// Why cuda_available() is false, in words (e.g. the CUDA error of a driver older than the runtime); "" when true.
const char* cuda_unavailable_reason();
// True when the CUDA backend is compiled in.
bool cuda_compiled();
// "cpu" | "cuda" -> Device; throws a clear error for an unknown name, a build without CUDA, or no usable GPU.
Device parse_device(const char* name);

}  // namespace toy
