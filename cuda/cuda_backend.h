// The CUDA backend: every Backend method queued on the one stream (cuda/cuda_context.h), memory from the caching
// allocator, matrix products on cuBLAS. Semantics and shapes of each method are in core/backend.h, the CPU reference
// in core/cpu/cpu_backend.cpp. This class only declares the overrides (the compiler checks each against Backend);
// each is defined beside its kernel(s), in the file its group names, queues them on cuda::stream() and checks the
// launch. Without a GPU the object still exists (its name says so), and its first use of the device throws
// toy::Error("cuda: no CUDA device is available ...").
// Determinism: no kernel uses atomics; every reduction runs in an order fixed by the sizes alone (a strided pass
// per thread, then a fixed shuffle/shared-memory tree), so the same inputs give bit-identical outputs on a GPU.
// Internal to cuda/: the rest of the code reaches it through cuda_backend() (core/backend.h). Plain C++17 (included
// from .cu files), no CUDA headers.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/backend.h"

namespace toy {

class CudaBackend final : public Backend {
 public:
  Device device() const override { return Device::CUDA; }
  // "cuda (<cuda::device_description()>)", e.g. "cuda (no device)" without a GPU; built on the first call, then kept.
  const char* name() const override;

  // ---- memory (cuda/cuda_backend.cpp; fill and increment in cuda/kernels_elementwise.cu)
  float* allocate(size_t n) override;
  void deallocate(float* p, size_t n) override;
  // Both host copies wait for the stream: the host buffer may be read or reused as soon as they return.
  void copy_to_host(float* host_dst, const float* src, size_t n) override;
  void copy_from_host(float* dst, const float* host_src, size_t n) override;
  void copy(float* dst, const float* src, size_t n) override;
  void fill(float* dst, size_t n, float value) override;
  void increment(float* x, float v) override;
  void synchronize() override;

  // ---- cuda/kernels_elementwise.cu
  void embedding_forward(const float* ids, int64_t n, const float* table, int64_t e, float* out) override;
  void embedding_backward(const float* ids, int64_t n, const float* dout, int64_t e, int64_t padding_idx, int64_t rows,
                          float* dtable) override;
  void add_forward(const float* a, int64_t na, const float* b, int64_t nb, int64_t inner, float* y) override;
  void add_backward(const float* dy, int64_t na, int64_t nb, int64_t inner, float* da, float* db) override;
  void scale_forward(const float* x, int64_t n, float c, float* y) override;
  void scale_backward(const float* dy, int64_t n, float c, float* dx) override;
  void unary_forward(Unary op, const float* x, int64_t n, float* y) override;
  void unary_backward(Unary op, const float* x, const float* y, const float* dy, int64_t n, float* dx) override;

  // ---- cuda/gemm.cpp: cuBLAS strided-batched SGEMM for row-major GemmArgs, on the stream's handle.
  void gemm(const GemmArgs& g) override;

  // ---- cuda/kernels_softmax.cu
  void softmax_forward(const float* x, int64_t rows, int64_t n, const float* mask, int64_t mask_rows,
                       float* y) override;
  void softmax_backward(const float* y, const float* dy, int64_t rows, int64_t n, float* dx) override;

  // ---- cuda/kernels_slice_conv.cu
  void slice_last_forward(const float* x, int64_t rows, int64_t n, int64_t start, int64_t len, float* y) override;
  void slice_last_backward(const float* dy, int64_t rows, int64_t n, int64_t start, int64_t len,
                           float* dx) override;
  void concat_last_forward(const float* x, int64_t rows, int64_t n, int64_t total, int64_t offset,
                           float* y) override;
  void concat_last_backward(const float* dy, int64_t rows, int64_t n, int64_t total, int64_t offset,
                            float* dx) override;
  // conv1d backward: dx one thread per input element; dw one block per kernel tap (a fixed-order block reduction).
  void conv1d_forward(const float* x, int64_t rows, int64_t l, const float* w, int64_t k, int64_t pad_left,
                      int64_t l_out, float* y) override;
  void conv1d_backward(const float* x, const float* w, const float* dy, int64_t rows, int64_t l, int64_t k,
                       int64_t pad_left, int64_t l_out, float* dx, float* dw) override;

  // ---- cuda/kernels_layer_norm.cu. Row statistics and dx: one warp per row (a block above kWarpRowLimit), as
  // softmax; dgamma and dbeta: one thread per parameter entry summing its group's rows in order (core/scalar_ops.h).
  void layer_norm_forward(const float* x, int64_t rows, int64_t n, int64_t groups, const float* gamma,
                          const float* beta, float eps, float* y, float* stats) override;
  void layer_norm_backward(const float* x, const float* gamma, const float* stats, const float* dy, int64_t rows,
                           int64_t n, int64_t groups, float* dx, float* dgamma, float* dbeta) override;

  // ---- cuda/kernels_softmax.cu
  void sum_forward(const float* x, int64_t n, float divisor, float* y) override;
  void sum_backward(const float* dy, int64_t n, float divisor, float* dx) override;

  // ---- cuda/kernels_xent.cu. Forward writes per-row losses to cuda::scratch(rows), then sums each group's rows in
  // a fixed order (one group: the block reduction of sum_forward; several: one thread per group, rows in order).
  void xent_logits_forward(const float* z, const float* targets, int64_t rows, int64_t v, int64_t groups,
                           float divisor, float* loss) override;
  void xent_logits_backward(const float* z, const float* targets, int64_t rows, int64_t v, int64_t groups,
                            float divisor, const float* dloss, float* dz) override;
  void xent_probs_forward(const float* p, const float* targets, int64_t rows, int64_t v, int64_t groups,
                          float divisor, float* loss) override;
  void xent_probs_backward(const float* p, const float* targets, int64_t rows, int64_t v, int64_t groups,
                           float divisor, const float* dloss, float* dp) override;

  // ---- cuda/kernels_optim.cu. Element i uses lr[i / group_size].
  void sgd_update(float* w, const float* g, float* m, int64_t n, const float* lr, int64_t group_size, float momentum,
                  bool nesterov) override;
  void rmsprop_update(float* w, const float* g, float* ms, float* mom, int64_t n, const float* lr, int64_t group_size,
                      float rho, float momentum, float eps) override;
  void adam_update(float* w, const float* g, float* m, float* v, int64_t n, const float* lr, int64_t group_size,
                   const float* step, float beta1, float beta2, float eps) override;

 private:
  mutable std::string name_;
};

}  // namespace toy
