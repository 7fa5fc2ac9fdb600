// CPU kernels. Shapes are validated at op entry; these loops trust their sizes. Every reduction runs in a fixed
// sequential order, so the same inputs give bit-identical outputs.
#include "core/cpu/cpu_backend.h"

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <new>

#include "core/scalar_ops.h"

#ifdef TOYFORMER_HAS_OPENBLAS
#include <cblas.h>
#endif

namespace toy {
namespace {

using RowMat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using ConstMap = Eigen::Map<const RowMat>;
using MutMap = Eigen::Map<RowMat>;

// Products this small are faster as coefficient-wise loops than through Eigen's blocked GEMM.
constexpr int64_t kLazyProductLimit = 64 * 64 * 64;
// Below this many multiply-adds (and with alpha = 1, beta in {0, 1}, which is all the engine uses) a direct loop
// beats Eigen's runtime-size dispatch: small models' products (10x7x20 and smaller) spent ~77% of a training step
// in Eigen's product setup (callgrind).
constexpr int64_t kDirectGemmLimit = 16 * 16 * 16;
// At or above this many multiply-adds a product goes to OpenBLAS when the build has it: kernels for the CPU's
// instruction set chosen at run time (Debian's DYNAMIC_ARCH build: AVX2, AVX-512, ...) and every core (its
// pthreads; OPENBLAS_NUM_THREADS=1 for one). Its level-3 products split the output, not the sums, among threads,
// so an element's sum has one order: the same bits run to run. Below it, Eigen (built for SSE2, one thread).
constexpr int64_t kBlasGemmLimit = 128 * 128 * 128;

// C (+)= op(A) · op(B) for tiny matrices, row-major. Every element's sum runs in a fixed order, so results are
// reproducible bit for bit (the order differs from Eigen's, which is why both paths are chosen by size only).
void direct_gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const float* __restrict a,
                 const float* __restrict b, float* __restrict c, bool accumulate) {
  if (!tb) {
    // Row i of C accumulates A[i,p] * row p of B: the inner loop is contiguous in j and vectorizes.
    for (int64_t i = 0; i < m; ++i) {
      float* __restrict ci = c + i * n;
      if (!accumulate)
        for (int64_t j = 0; j < n; ++j) ci[j] = 0.0f;
      for (int64_t p = 0; p < k; ++p) {
        const float aip = ta ? a[p * m + i] : a[i * k + p];
        const float* __restrict bp = b + p * n;
        for (int64_t j = 0; j < n; ++j) ci[j] += aip * bp[j];
      }
    }
    return;
  }
  // B stored [n,k]: C[i,j] = sum_p A[i,p] B[j,p]. When A is not transposed both operands are contiguous rows: dot
  // products with four partial sums (p mod 4) added as (s0 + s1) + (s2 + s3). A transposed: the axpy form above on
  // a column of A.
  if (ta) {
    for (int64_t i = 0; i < m; ++i) {
      float* __restrict ci = c + i * n;
      for (int64_t j = 0; j < n; ++j) {
        const float* __restrict bj = b + j * k;
        float s = 0.0f;
        for (int64_t p = 0; p < k; ++p) s += a[p * m + i] * bj[p];
        ci[j] = accumulate ? ci[j] + s : s;
      }
    }
    return;
  }
  for (int64_t i = 0; i < m; ++i) {
    const float* __restrict ai = a + i * k;
    float* __restrict ci = c + i * n;
    for (int64_t j = 0; j < n; ++j) {
      const float sum = scalar::dot4(ai, b + j * k, k);
      ci[j] = accumulate ? ci[j] + sum : sum;
    }
  }
}

template <class A, class B>
void gemm_one(const A& a, const B& b, MutMap& c, float alpha, float beta, bool lazy) {
  if (beta == 0.0f) {
    if (lazy)
      c.noalias() = alpha * a.lazyProduct(b);
    else
      c.noalias() = alpha * (a * b);
  } else {
    if (beta != 1.0f) c *= beta;
    if (lazy)
      c.noalias() += alpha * a.lazyProduct(b);
    else
      c.noalias() += alpha * (a * b);
  }
}

class CpuBackend final : public Backend {
 public:
  Device device() const override { return Device::CPU; }
  const char* name() const override {
    return "cpu (Eigen " EIGEN_MAKESTRING(EIGEN_WORLD_VERSION) "." EIGEN_MAKESTRING(EIGEN_MAJOR_VERSION) "." EIGEN_MAKESTRING(
        EIGEN_MINOR_VERSION)
#ifdef TOYFORMER_HAS_OPENBLAS
        ";" OPENBLAS_VERSION "for large products"
#endif
        ")";
  }

  float* allocate(size_t n) override {
    size_t bytes = ((n * sizeof(float) + 63) / 64) * 64;
    void* p = std::aligned_alloc(64, bytes);
    if (!p) throw std::bad_alloc();
    return static_cast<float*>(p);
  }
  void deallocate(float* p, size_t) override { std::free(p); }
  void copy_to_host(float* dst, const float* src, size_t n) override { std::memcpy(dst, src, n * sizeof(float)); }
  void copy_from_host(float* dst, const float* src, size_t n) override { std::memcpy(dst, src, n * sizeof(float)); }
  void copy(float* dst, const float* src, size_t n) override {
    if (dst != src) std::memmove(dst, src, n * sizeof(float));
  }
  void fill(float* dst, size_t n, float v) override { std::fill(dst, dst + n, v); }
  void increment(float* x, float v) override { x[0] += v; }
  void synchronize() override {}

  // ids [n], table [rows, e] -> out [n, e]
  void embedding_forward(const float* ids, int64_t n, const float* table, int64_t e, float* out) override {
    for (int64_t i = 0; i < n; ++i) {
      const float* row = table + static_cast<int64_t>(ids[i]) * e;
      std::copy(row, row + e, out + i * e);
    }
  }
  // forward: out[i,:] = table[ids[i],:]  =>  dtable[ids[i],:] += dout[i,:], in order of i.
  void embedding_backward(const float* ids, int64_t n, const float* dout, int64_t e, int64_t padding_idx, int64_t,
                          float* dtable) override {
    for (int64_t i = 0; i < n; ++i) {
      int64_t id = static_cast<int64_t>(ids[i]);
      if (id == padding_idx) continue;
      float* row = dtable + id * e;
      const float* d = dout + i * e;
      for (int64_t j = 0; j < e; ++j) row[j] += d[j];
    }
  }

  // a [G, R, S] + b [G, S] (inner = S, nb = G S): y[g, r, s] = a[g, r, s] + b[g, s]
  void add_forward(const float* a, int64_t na, const float* b, int64_t nb, int64_t inner, float* y) override {
    const int64_t block = na / nb * inner;  // R S: one group of a
    for (int64_t g = 0; g * block < na; ++g)
      for (int64_t i = g * block; i < (g + 1) * block; i += inner)
        for (int64_t s = 0; s < inner; ++s) y[i + s] = a[i + s] + b[g * inner + s];
  }
  // forward: y[g, r, s] = a[g, r, s] + b[g, s]  =>  da += dy;  db[g, s] += sum_r dy[g, r, s] (the R terms summed in
  // order, then added: a second backward adds exactly the same sum)
  void add_backward(const float* dy, int64_t na, int64_t nb, int64_t inner, float* da, float* db) override {
    if (da)
      for (int64_t i = 0; i < na; ++i) da[i] += dy[i];
    if (!db) return;
    const int64_t rows = na / nb, groups = nb / inner;  // R, G
    for (int64_t g = 0; g < groups; ++g)
      for (int64_t s = 0; s < inner; ++s) {
        const float* col = dy + g * rows * inner + s;
        float acc = col[0];
        for (int64_t r = 1; r < rows; ++r) acc += col[r * inner];
        db[g * inner + s] += acc;
      }
  }

  void scale_forward(const float* x, int64_t n, float c, float* y) override {
    for (int64_t i = 0; i < n; ++i) y[i] = x[i] * c;
  }
  void scale_backward(const float* dy, int64_t n, float c, float* dx) override {
    for (int64_t i = 0; i < n; ++i) dx[i] += dy[i] * c;
  }

  void unary_forward(Unary op, const float* x, int64_t n, float* y) override {
    switch (op) {
      case Unary::Sigmoid:
        for (int64_t i = 0; i < n; ++i) y[i] = scalar::sigmoid(x[i]);
        break;
      case Unary::Tanh:
        for (int64_t i = 0; i < n; ++i) y[i] = scalar::tanh_fwd(x[i]);
        break;
      case Unary::Relu:
        for (int64_t i = 0; i < n; ++i) y[i] = scalar::relu(x[i]);
        break;
    }
  }
  void unary_backward(Unary op, const float* x, const float* y, const float* dy, int64_t n, float* dx) override {
    switch (op) {
      case Unary::Sigmoid:
        for (int64_t i = 0; i < n; ++i) dx[i] += scalar::sigmoid_grad(y[i], dy[i]);
        break;
      case Unary::Tanh:
        for (int64_t i = 0; i < n; ++i) dx[i] += scalar::tanh_grad(y[i], dy[i]);
        break;
      case Unary::Relu:
        for (int64_t i = 0; i < n; ++i) dx[i] += scalar::relu_grad(x[i], dy[i]);
        break;
    }
  }

  void gemm(const GemmArgs& g) override {
    if (g.m * g.n * g.k <= kDirectGemmLimit && g.alpha == 1.0f && (g.beta == 0.0f || g.beta == 1.0f)) {
      for (int64_t bi = 0; bi < g.batch; ++bi)
        direct_gemm(g.trans_a, g.trans_b, g.m, g.n, g.k, g.a + bi * g.stride_a, g.b + bi * g.stride_b,
                    g.c + bi * g.stride_c, g.beta == 1.0f);
      return;
    }
#ifdef TOYFORMER_HAS_OPENBLAS
    if (g.m * g.n * g.k >= kBlasGemmLimit) {
      for (int64_t bi = 0; bi < g.batch; ++bi)
        cblas_sgemm(CblasRowMajor, g.trans_a ? CblasTrans : CblasNoTrans, g.trans_b ? CblasTrans : CblasNoTrans,
                    static_cast<blasint>(g.m), static_cast<blasint>(g.n), static_cast<blasint>(g.k), g.alpha,
                    g.a + bi * g.stride_a, static_cast<blasint>(g.trans_a ? g.m : g.k), g.b + bi * g.stride_b,
                    static_cast<blasint>(g.trans_b ? g.k : g.n), g.beta, g.c + bi * g.stride_c,
                    static_cast<blasint>(g.n));
      return;
    }
#endif
    const bool lazy = g.m * g.n * g.k <= kLazyProductLimit;
    for (int64_t bi = 0; bi < g.batch; ++bi) {
      const float* a = g.a + bi * g.stride_a;
      const float* b = g.b + bi * g.stride_b;
      MutMap c(g.c + bi * g.stride_c, g.m, g.n);
      // Stored shapes: A is (trans_a ? k x m : m x k), B is (trans_b ? n x k : k x n).
      ConstMap am(a, g.trans_a ? g.k : g.m, g.trans_a ? g.m : g.k);
      ConstMap bm(b, g.trans_b ? g.n : g.k, g.trans_b ? g.k : g.n);
      if (!g.trans_a && !g.trans_b) gemm_one(am, bm, c, g.alpha, g.beta, lazy);
      if (g.trans_a && !g.trans_b) gemm_one(am.transpose(), bm, c, g.alpha, g.beta, lazy);
      if (!g.trans_a && g.trans_b) gemm_one(am, bm.transpose(), c, g.alpha, g.beta, lazy);
      if (g.trans_a && g.trans_b) gemm_one(am.transpose(), bm.transpose(), c, g.alpha, g.beta, lazy);
    }
  }

  // As TF's CPU kernel: e = exp(x' - max x'), y = e * (1 / sum e), with x' = x + (1-mask)*-1e9.
  // A fully masked row (its mask row all 0) is all zeros, not the uniform row the adder alone would give.
  void softmax_forward(const float* x, int64_t rows, int64_t n, const float* mask, int64_t mask_rows,
                       float* y) override {
    for (int64_t r = 0; r < rows; ++r) {
      const float* xr = x + r * n;
      float* yr = y + r * n;
      const float* mr = mask ? mask + (r % mask_rows) * n : nullptr;
      float mx = -INFINITY, keep = 0.0f;
      for (int64_t j = 0; j < n; ++j) {
        yr[j] = mr ? xr[j] + scalar::mask_adder(mr[j]) : xr[j];
        mx = std::max(mx, yr[j]);
        if (mr) keep = std::max(keep, mr[j]);
      }
      if (mr && keep == 0.0f) {
        std::fill(yr, yr + n, 0.0f);
        continue;
      }
      float s = 0.0f;
      for (int64_t j = 0; j < n; ++j) {
        yr[j] = std::exp(yr[j] - mx);
        s += yr[j];
      }
      float inv = 1.0f / s;
      for (int64_t j = 0; j < n; ++j) yr[j] *= inv;
    }
  }
  // forward: y = softmax(x)  =>  dx += y * (dy - sum_j dy_j y_j)
  void softmax_backward(const float* y, const float* dy, int64_t rows, int64_t n, float* dx) override {
    for (int64_t r = 0; r < rows; ++r) {
      const float* yr = y + r * n;
      const float* dr = dy + r * n;
      float dot = 0.0f;
      for (int64_t j = 0; j < n; ++j) dot += dr[j] * yr[j];
      for (int64_t j = 0; j < n; ++j) dx[r * n + j] += (dr[j] - dot) * yr[j];
    }
  }

  // x [rows, n] -> y [rows, len] = x[:, start : start + len]
  void slice_last_forward(const float* x, int64_t rows, int64_t n, int64_t start, int64_t len, float* y) override {
    for (int64_t r = 0; r < rows; ++r) std::copy(x + r * n + start, x + r * n + start + len, y + r * len);
  }
  // forward: y = x[:, start : start + len]  =>  dx[:, start : start + len] += dy
  void slice_last_backward(const float* dy, int64_t rows, int64_t n, int64_t start, int64_t len,
                           float* dx) override {
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t j = 0; j < len; ++j) dx[r * n + start + j] += dy[r * len + j];
  }
  // x [rows, n] -> y [rows, total][:, offset : offset + n]
  void concat_last_forward(const float* x, int64_t rows, int64_t n, int64_t total, int64_t offset,
                           float* y) override {
    for (int64_t r = 0; r < rows; ++r) std::copy(x + r * n, x + (r + 1) * n, y + r * total + offset);
  }
  // forward: y[:, offset : offset + n] = x  =>  dx += dy[:, offset : offset + n]
  void concat_last_backward(const float* dy, int64_t rows, int64_t n, int64_t total, int64_t offset,
                            float* dx) override {
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t j = 0; j < n; ++j) dx[r * n + j] += dy[r * total + offset + j];
  }

  // x [rows, l], w [k] -> y [rows, l_out], y[r, i] = sum_j w[j] x[r, i + j - pad_left] (zero outside [0, l))
  void conv1d_forward(const float* x, int64_t rows, int64_t l, const float* w, int64_t k, int64_t pad_left,
                      int64_t l_out, float* y) override {
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t i = 0; i < l_out; ++i) y[r * l_out + i] = scalar::conv1d_at(x + r * l, l, w, k, pad_left, i);
  }
  // forward: y[r, i] = sum_j w[j] x[r, i + j - pad_left]
  //   =>  dx[r, p] += sum_j w[j] dy[r, p - j + pad_left];  dw[j] += sum_r sum_i dy[r, i] x[r, i + j - pad_left]
  // (dw summed row by row, i in order: the CUDA kernel's strided order differs, within the parity tolerance).
  void conv1d_backward(const float* x, const float* w, const float* dy, int64_t rows, int64_t l, int64_t k,
                       int64_t pad_left, int64_t l_out, float* dx, float* dw) override {
    if (dx)
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t p = 0; p < l; ++p) dx[r * l + p] += scalar::conv1d_dx_at(dy + r * l_out, l_out, w, k, pad_left, p);
    if (dw)
      for (int64_t j = 0; j < k; ++j) {
        float s = 0.0f;
        for (int64_t r = 0; r < rows; ++r)
          for (int64_t i = 0; i < l_out; ++i) {
            const int64_t p = i + j - pad_left;
            if (p >= 0 && p < l) s += dy[r * l_out + i] * x[r * l + p];
          }
        dw[j] += s;
      }
  }

  // x [rows, n], gamma and beta [groups, n] (group g = rows [g rows/groups, (g+1) rows/groups)) -> y [rows, n],
  // stats [rows, 2] = (mean, rstd); two passes over each row (the variance from x - mean, not E[x^2] - mean^2,
  // which cancels catastrophically for rows far from zero).
  void layer_norm_forward(const float* x, int64_t rows, int64_t n, int64_t groups, const float* gamma,
                          const float* beta, float eps, float* y, float* stats) override {
    const float fn = static_cast<float>(n);
    const int64_t per = rows / groups;
    for (int64_t r = 0; r < rows; ++r) {
      const float *xr = x + r * n, *gr = gamma + r / per * n, *br = beta + r / per * n;
      float s = 0.0f;
      for (int64_t j = 0; j < n; ++j) s += xr[j];
      const float mean = s / fn;
      float ss = 0.0f;
      for (int64_t j = 0; j < n; ++j) ss += (xr[j] - mean) * (xr[j] - mean);
      const float rstd = scalar::layer_norm_rstd(ss / fn, eps);
      for (int64_t j = 0; j < n; ++j) y[r * n + j] = scalar::layer_norm_xhat(xr[j], mean, rstd) * gr[j] + br[j];
      stats[2 * r] = mean;
      stats[2 * r + 1] = rstd;
    }
  }
  // forward: y = xhat gamma + beta, xhat = (x - mean) rstd
  //   =>  dx += rstd (g - mean_j g - xhat mean_j(g xhat)) with g = gamma dy;
  //       dgamma += sum_r dy xhat;  dbeta += sum_r dy (each column over its group's rows in order, core/scalar_ops.h)
  void layer_norm_backward(const float* x, const float* gamma, const float* stats, const float* dy, int64_t rows,
                           int64_t n, int64_t groups, float* dx, float* dgamma, float* dbeta) override {
    const float fn = static_cast<float>(n);
    const int64_t per = rows / groups;
    if (dx)
      for (int64_t r = 0; r < rows; ++r) {
        const float *xr = x + r * n, *dr = dy + r * n, *gr = gamma + r / per * n;
        const float mean = stats[2 * r], rstd = stats[2 * r + 1];
        float sg = 0.0f, sgx = 0.0f;
        for (int64_t j = 0; j < n; ++j) {
          const float g = gr[j] * dr[j];
          sg += g;
          sgx += g * scalar::layer_norm_xhat(xr[j], mean, rstd);
        }
        const float mean_g = sg / fn, mean_gx = sgx / fn;
        for (int64_t j = 0; j < n; ++j)
          dx[r * n + j] += scalar::layer_norm_dx(gr[j] * dr[j], scalar::layer_norm_xhat(xr[j], mean, rstd), rstd,
                                                 mean_g, mean_gx);
      }
    if (dgamma || dbeta)
      for (int64_t k = 0; k < groups * n; ++k) {
        float dg = 0.0f, db = 0.0f;
        scalar::layer_norm_dparams_at(x, stats, dy, per, n, k, &dg, &db);
        if (dgamma) dgamma[k] += dg;
        if (dbeta) dbeta[k] += db;
      }
  }

  void sum_forward(const float* x, int64_t n, float divisor, float* y) override {
    float s = 0.0f;
    for (int64_t i = 0; i < n; ++i) s += x[i];
    y[0] = s / divisor;
  }
  // forward: y = sum(x) / divisor  =>  dx += dy / divisor
  void sum_backward(const float* dy, int64_t n, float divisor, float* dx) override {
    float g = dy[0] / divisor;
    for (int64_t i = 0; i < n; ++i) dx[i] += g;
  }

  // As TF's sparse_xent kernel: loss_r = log(sum_k exp(z_k - m)) - (z_y - m); each group's rows summed in order.
  void xent_logits_forward(const float* z, const float* t, int64_t rows, int64_t v, int64_t groups, float divisor,
                           float* loss) override {
    const int64_t per = rows / groups;
    for (int64_t g = 0; g < groups; ++g) {
      float total = 0.0f;
      for (int64_t r = g * per; r < (g + 1) * per; ++r) {
        const float* zr = z + r * v;
        float m = *std::max_element(zr, zr + v);
        float s = 0.0f;
        for (int64_t k = 0; k < v; ++k) s += std::exp(zr[k] - m);
        total += std::log(s) - (zr[static_cast<int64_t>(t[r])] - m);
      }
      loss[g] = total / divisor;
    }
  }
  // forward: L_g = sum_{r in g} (lse(z_r) - z_r[y]) / divisor  =>  dz += (dL_g / divisor) * (e_k / s - [k == y])
  void xent_logits_backward(const float* z, const float* t, int64_t rows, int64_t v, int64_t groups, float divisor,
                            const float* dloss, float* dz) override {
    const int64_t per = rows / groups;
    for (int64_t r = 0; r < rows; ++r) {
      const float seed = dloss[r / per] / divisor;
      const float* zr = z + r * v;
      int64_t y = static_cast<int64_t>(t[r]);
      float m = *std::max_element(zr, zr + v);
      float s = 0.0f;
      for (int64_t k = 0; k < v; ++k) s += std::exp(zr[k] - m);
      for (int64_t k = 0; k < v; ++k) {
        float p = std::exp(zr[k] - m) / s;
        dz[r * v + k] += seed * (p - (k == y ? 1.0f : 0.0f));
      }
    }
  }

  // Keras' fallback: pc = clip(p); loss_r = log(sum_k pc_k) - log(pc_y).
  void xent_probs_forward(const float* p, const float* t, int64_t rows, int64_t v, int64_t groups, float divisor,
                          float* loss) override {
    const int64_t per = rows / groups;
    for (int64_t g = 0; g < groups; ++g) {
      float total = 0.0f;
      for (int64_t r = g * per; r < (g + 1) * per; ++r) {
        const float* pr = p + r * v;
        float s = 0.0f;
        for (int64_t k = 0; k < v; ++k) s += scalar::clip_prob(pr[k]);
        total += std::log(s) - std::log(scalar::clip_prob(pr[static_cast<int64_t>(t[r])]));
      }
      loss[g] = total / divisor;
    }
  }
  // forward: L_g = sum_{r in g} (log sum_k pc_k - log pc_y) / divisor  =>  dp_k += (dL_g/divisor)(1/S - [k==y]/pc_y)
  // where the clip passes, else 0.
  void xent_probs_backward(const float* p, const float* t, int64_t rows, int64_t v, int64_t groups, float divisor,
                           const float* dloss, float* dp) override {
    const int64_t per = rows / groups;
    for (int64_t r = 0; r < rows; ++r) {
      const float seed = dloss[r / per] / divisor;
      const float* pr = p + r * v;
      int64_t y = static_cast<int64_t>(t[r]);
      float s = 0.0f;
      for (int64_t k = 0; k < v; ++k) s += scalar::clip_prob(pr[k]);
      for (int64_t k = 0; k < v; ++k) {
        if (!scalar::clip_passes(pr[k])) continue;
        float g = 1.0f / s - (k == y ? 1.0f / scalar::clip_prob(pr[k]) : 0.0f);
        dp[r * v + k] += seed * g;
      }
    }
  }

  void sgd_update(float* w, const float* g, float* m, int64_t n, const float* lr_p, int64_t gs, float momentum,
                  bool nesterov) override {
    for (int64_t s = 0; s < n; s += gs) {
      const float lr = lr_p[s / gs];
      const int64_t e = std::min(n, s + gs);
      if (momentum == 0.0f) {
        for (int64_t i = s; i < e; ++i) w[i] -= g[i] * lr;
        continue;
      }
      for (int64_t i = s; i < e; ++i) {
        m[i] = m[i] * momentum - g[i] * lr;
        w[i] += nesterov ? m[i] * momentum - g[i] * lr : m[i];
      }
    }
  }

  void rmsprop_update(float* w, const float* g, float* ms, float* mom, int64_t n, const float* lr_p, int64_t gs,
                      float rho, float momentum, float eps) override {
    for (int64_t s = 0; s < n; s += gs) {
      const float lr = lr_p[s / gs];
      const int64_t e = std::min(n, s + gs);
      if (momentum == 0.0f) {
        for (int64_t i = s; i < e; ++i) {
          ms[i] = rho * ms[i] + (1.0f - rho) * (g[i] * g[i]);
          w[i] -= lr * g[i] / (std::sqrt(ms[i]) + eps);
        }
        continue;
      }
      for (int64_t i = s; i < e; ++i) {
        ms[i] += (g[i] * g[i] - ms[i]) * (1.0f - rho);
        mom[i] = mom[i] * momentum + (g[i] * lr) / std::sqrt(ms[i] + eps);
        w[i] -= mom[i];
      }
    }
  }

  void adam_update(float* w, const float* g, float* m, float* v, int64_t n, const float* lr_p, int64_t gs,
                   const float* step, float beta1, float beta2, float eps) override {
    const float t = step[0];
    const float b1p = scalar::pow_step(beta1, t), b2p = scalar::pow_step(beta2, t);
    for (int64_t s = 0; s < n; s += gs) {
      const float alpha = lr_p[s / gs] * std::sqrt(1.0f - b2p) / (1.0f - b1p);
      const int64_t e = std::min(n, s + gs);
      for (int64_t i = s; i < e; ++i) {
        m[i] += (g[i] - m[i]) * (1.0f - beta1);
        v[i] += (g[i] * g[i] - v[i]) * (1.0f - beta2);
        w[i] -= (m[i] * alpha) / (std::sqrt(v[i]) + eps);
      }
    }
  }

};

}  // namespace

Backend& cpu_backend() {
  static CpuBackend instance;
  return instance;
}

}  // namespace toy
