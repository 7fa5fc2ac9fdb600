// The CUDA backend: every Backend method queued on the one stream (cuda/cuda_context.h), memory from the caching
// allocator, kernels in cuda/kernels_*.cu, matrix products on cuBLAS. Without a GPU the object still exists (its
// name says so), and its first use of the device throws toy::Error("cuda: no CUDA device is available ...").
#include <string>

#include "core/backend.h"
#include "cuda/allocator.h"
#include "cuda/cuda_check.h"
#include "cuda/cuda_context.h"
#include "cuda/kernels.h"

namespace toy {
namespace {

using cuda::stream;

class CudaBackend final : public Backend {
 public:
  Device device() const override { return Device::CUDA; }
  const char* name() const override {
    if (name_.empty()) name_ = "cuda (" + cuda::device_description() + ")";
    return name_.c_str();
  }

  float* allocate(size_t n) override {
    stream();  // initializes the device, or throws the clear "no CUDA device" error
    return static_cast<float*>(cuda::allocator().allocate(n * sizeof(float)));
  }
  void deallocate(float* p, size_t) override { cuda::allocator().deallocate(p); }
  // Both host copies wait for the stream: the host buffer may be read or reused as soon as they return.
  void copy_to_host(float* host_dst, const float* src, size_t n) override {
    TOY_CUDA_CHECK(cudaMemcpyAsync(host_dst, src, n * sizeof(float), cudaMemcpyDeviceToHost, stream()));
    TOY_CUDA_CHECK(cudaStreamSynchronize(stream()));
  }
  void copy_from_host(float* dst, const float* host_src, size_t n) override {
    TOY_CUDA_CHECK(cudaMemcpyAsync(dst, host_src, n * sizeof(float), cudaMemcpyHostToDevice, stream()));
    TOY_CUDA_CHECK(cudaStreamSynchronize(stream()));
  }
  void copy(float* dst, const float* src, size_t n) override {
    if (dst != src && n)
      TOY_CUDA_CHECK(cudaMemcpyAsync(dst, src, n * sizeof(float), cudaMemcpyDeviceToDevice, stream()));
  }
  void fill(float* dst, size_t n, float value) override { cuda::fill(dst, static_cast<int64_t>(n), value, stream()); }
  void increment(float* x, float v) override { cuda::increment(x, v, stream()); }
  void synchronize() override { TOY_CUDA_CHECK(cudaStreamSynchronize(stream())); }

  void embedding_forward(const float* ids, int64_t n, const float* table, int64_t e, float* out) override {
    cuda::embedding_forward(ids, n, table, e, out, stream());
  }
  void embedding_backward(const float* ids, int64_t n, const float* dout, int64_t e, int64_t padding_idx, int64_t rows,
                          float* dtable) override {
    cuda::embedding_backward(ids, n, dout, e, padding_idx, rows, dtable, stream());
  }

  void add_forward(const float* a, int64_t na, const float* b, int64_t nb, float* y) override {
    cuda::add_forward(a, na, b, nb, y, stream());
  }
  void add_backward(const float* dy, int64_t na, int64_t nb, float* da, float* db) override {
    cuda::add_backward(dy, na, nb, da, db, stream());
  }

  void scale_forward(const float* x, int64_t n, float c, float* y) override {
    cuda::scale_forward(x, n, c, y, stream());
  }
  void scale_backward(const float* dy, int64_t n, float c, float* dx) override {
    cuda::scale_backward(dy, n, c, dx, stream());
  }

  void unary_forward(Unary op, const float* x, int64_t n, float* y) override {
    cuda::unary_forward(op, x, n, y, stream());
  }
  void unary_backward(Unary op, const float* x, const float* y, const float* dy, int64_t n, float* dx) override {
    cuda::unary_backward(op, x, y, dy, n, dx, stream());
  }

  void gemm(const GemmArgs& g) override { cuda::gemm(g); }

  void softmax_forward(const float* x, int64_t rows, int64_t n, const float* mask, int64_t mask_rows,
                       float* y) override {
    cuda::softmax_forward(x, rows, n, mask, mask_rows, y, stream());
  }
  void softmax_backward(const float* y, const float* dy, int64_t rows, int64_t n, float* dx) override {
    cuda::softmax_backward(y, dy, rows, n, dx, stream());
  }

  void slice_last_forward(const float* x, int64_t rows, int64_t n, int64_t start, int64_t len, float* y) override {
    cuda::slice_last_forward(x, rows, n, start, len, y, stream());
  }
  void slice_last_backward(const float* dy, int64_t rows, int64_t n, int64_t start, int64_t len,
                           float* dx) override {
    cuda::slice_last_backward(dy, rows, n, start, len, dx, stream());
  }
  void concat_last_forward(const float* x, int64_t rows, int64_t n, int64_t total, int64_t offset,
                           float* y) override {
    cuda::concat_last_forward(x, rows, n, total, offset, y, stream());
  }
  void concat_last_backward(const float* dy, int64_t rows, int64_t n, int64_t total, int64_t offset,
                            float* dx) override {
    cuda::concat_last_backward(dy, rows, n, total, offset, dx, stream());
  }

  void conv1d_forward(const float* x, int64_t rows, int64_t l, const float* w, int64_t k, int64_t pad_left,
                      int64_t l_out, float* y) override {
    cuda::conv1d_forward(x, rows, l, w, k, pad_left, l_out, y, stream());
  }
  void conv1d_backward(const float* x, const float* w, const float* dy, int64_t rows, int64_t l, int64_t k,
                       int64_t pad_left, int64_t l_out, float* dx, float* dw) override {
    cuda::conv1d_backward(x, w, dy, rows, l, k, pad_left, l_out, dx, dw, stream());
  }

  void sum_forward(const float* x, int64_t n, float divisor, float* y) override {
    cuda::sum_forward(x, n, divisor, y, stream());
  }
  void sum_backward(const float* dy, int64_t n, float divisor, float* dx) override {
    cuda::sum_backward(dy, n, divisor, dx, stream());
  }

  void xent_logits_forward(const float* z, const float* targets, int64_t rows, int64_t v, int64_t groups,
                           float divisor, float* loss) override {
    cuda::xent_logits_forward(z, targets, rows, v, groups, divisor, cuda::scratch(static_cast<size_t>(rows)), loss,
                              stream());
  }
  void xent_logits_backward(const float* z, const float* targets, int64_t rows, int64_t v, int64_t groups,
                            float divisor, const float* dloss, float* dz) override {
    cuda::xent_logits_backward(z, targets, rows, v, groups, divisor, dloss, dz, stream());
  }
  void xent_probs_forward(const float* p, const float* targets, int64_t rows, int64_t v, int64_t groups,
                          float divisor, float* loss) override {
    cuda::xent_probs_forward(p, targets, rows, v, groups, divisor, cuda::scratch(static_cast<size_t>(rows)), loss,
                             stream());
  }
  void xent_probs_backward(const float* p, const float* targets, int64_t rows, int64_t v, int64_t groups,
                           float divisor, const float* dloss, float* dp) override {
    cuda::xent_probs_backward(p, targets, rows, v, groups, divisor, dloss, dp, stream());
  }

  void sgd_update(float* w, const float* g, float* m, int64_t n, const float* lr, int64_t group_size, float momentum,
                  bool nesterov) override {
    cuda::sgd_update(w, g, m, n, lr, group_size, momentum, nesterov, stream());
  }
  void rmsprop_update(float* w, const float* g, float* ms, float* mom, int64_t n, const float* lr, int64_t group_size,
                      float rho, float momentum, float eps) override {
    cuda::rmsprop_update(w, g, ms, mom, n, lr, group_size, rho, momentum, eps, stream());
  }
  void adam_update(float* w, const float* g, float* m, float* v, int64_t n, const float* lr, int64_t group_size,
                   const float* step, float beta1, float beta2, float eps) override {
    cuda::adam_update(w, g, m, v, n, lr, group_size, step, beta1, beta2, eps, stream());
  }

 private:
  mutable std::string name_;
};

}  // namespace

Backend& cuda_backend() {
  static CudaBackend* instance = new CudaBackend();  // leaked on purpose: storage may be freed during exit
  return *instance;
}

namespace {
// Why no GPU is usable ("" when one is), decided once: the device count, or the CUDA error that prevented it.
const std::string& unavailable_reason() {
  static const std::string reason = []() -> std::string {
    int n = 0;
    cudaError_t err = cudaGetDeviceCount(&n);
    if (err != cudaSuccess) {
      (void)cudaGetLastError();  // do not leave the error for the next launch check to find
      return std::string("cudaGetDeviceCount failed: ") + cudaGetErrorString(err) + " (" + cudaGetErrorName(err) + ")";
    }
    return n > 0 ? "" : "the CUDA runtime found no GPU";
  }();
  return reason;
}
}  // namespace

bool cuda_available() {
  try {
    return unavailable_reason().empty();
  } catch (...) {
    return false;
  }
}

const char* cuda_unavailable_reason() {
  try {
    return unavailable_reason().c_str();
  } catch (...) {
    return "the CUDA runtime could not be queried";
  }
}

bool cuda_compiled() { return true; }

}  // namespace toy
