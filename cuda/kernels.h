// Launchers for the CUDA kernels, one per Backend method (semantics and shapes in core/backend.h; the CPU
// reference in core/cpu/cpu_backend.cpp). Each queues its kernel(s) on `s` and checks the launch.
// Determinism: no kernel uses atomics; every reduction runs in an order fixed by the sizes alone (a strided pass
// per thread, then a fixed shuffle/shared-memory tree), so the same inputs give bit-identical outputs on a GPU.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

#include "core/backend.h"

namespace toy::cuda {

void fill(float* dst, int64_t n, float v, cudaStream_t s);
void increment(float* x, float v, cudaStream_t s);

void embedding_forward(const float* ids, int64_t n, const float* table, int64_t e, float* out, cudaStream_t s);
void embedding_backward(const float* ids, int64_t n, const float* dout, int64_t e, int64_t padding_idx, int64_t rows,
                        float* dtable, cudaStream_t s);

void add_forward(const float* a, int64_t na, const float* b, int64_t nb, float* y, cudaStream_t s);
void add_backward(const float* dy, int64_t na, int64_t nb, float* da, float* db, cudaStream_t s);

void scale_forward(const float* x, int64_t n, float c, float* y, cudaStream_t s);
void scale_backward(const float* dy, int64_t n, float c, float* dx, cudaStream_t s);

void unary_forward(Unary op, const float* x, int64_t n, float* y, cudaStream_t s);
void unary_backward(Unary op, const float* x, const float* y, const float* dy, int64_t n, float* dx, cudaStream_t s);

void softmax_forward(const float* x, int64_t rows, int64_t n, const float* mask, int64_t mask_rows, float* y,
                     cudaStream_t s);
void softmax_backward(const float* y, const float* dy, int64_t rows, int64_t n, float* dx, cudaStream_t s);

void slice_last_forward(const float* x, int64_t rows, int64_t n, int64_t start, int64_t len, float* y, cudaStream_t s);
void slice_last_backward(const float* dy, int64_t rows, int64_t n, int64_t start, int64_t len, float* dx,
                         cudaStream_t s);
void concat_last_forward(const float* x, int64_t rows, int64_t n, int64_t total, int64_t offset, float* y,
                         cudaStream_t s);
void concat_last_backward(const float* dy, int64_t rows, int64_t n, int64_t total, int64_t offset, float* dx,
                          cudaStream_t s);

// conv1d backward: dx one thread per input element; dw one block per kernel tap (a fixed-order block reduction).
void conv1d_forward(const float* x, int64_t rows, int64_t l, const float* w, int64_t k, int64_t pad_left,
                    int64_t l_out, float* y, cudaStream_t s);
void conv1d_backward(const float* x, const float* w, const float* dy, int64_t rows, int64_t l, int64_t k,
                     int64_t pad_left, int64_t l_out, float* dx, float* dw, cudaStream_t s);

void sum_forward(const float* x, int64_t n, float divisor, float* y, cudaStream_t s);
void sum_backward(const float* dy, int64_t n, float divisor, float* dx, cudaStream_t s);

// Forward cross-entropy writes per-row losses to `row_loss` [rows] (scratch), then sums each group's rows in a
// fixed order (one group: the block reduction of sum_forward; several: one thread per group, rows in order).
void xent_logits_forward(const float* z, const float* targets, int64_t rows, int64_t v, int64_t groups, float divisor,
                         float* row_loss, float* loss, cudaStream_t s);
void xent_logits_backward(const float* z, const float* targets, int64_t rows, int64_t v, int64_t groups,
                          float divisor, const float* dloss, float* dz, cudaStream_t s);
void xent_probs_forward(const float* p, const float* targets, int64_t rows, int64_t v, int64_t groups, float divisor,
                        float* row_loss, float* loss, cudaStream_t s);
void xent_probs_backward(const float* p, const float* targets, int64_t rows, int64_t v, int64_t groups,
                         float divisor, const float* dloss, float* dp, cudaStream_t s);

// Element i uses lr[i / group_size].
void sgd_update(float* w, const float* g, float* m, int64_t n, const float* lr, int64_t group_size, float momentum,
                bool nesterov, cudaStream_t s);
void rmsprop_update(float* w, const float* g, float* ms, float* mom, int64_t n, const float* lr, int64_t group_size,
                    float rho, float momentum, float eps, cudaStream_t s);
void adam_update(float* w, const float* g, float* m, float* v, int64_t n, const float* lr, int64_t group_size,
                 const float* step, float beta1, float beta2, float eps, cudaStream_t s);

// cuBLAS strided-batched SGEMM for row-major GemmArgs, on the backend's stream and handle (cuda/gemm.cpp).
void gemm(const GemmArgs& g);

}  // namespace toy::cuda
