// Elementwise kernels: fill, increment, embedding, add, scale, activations. One thread per output element
// (grid-stride); the two gradient reductions (embedding rows, broadcast add) loop in the CPU's order, no atomics.
#include <cmath>

#include "core/scalar_ops.h"
#include "cuda/cuda_backend.h"
#include "cuda/cuda_context.h"
#include "cuda/kernel_utils.cuh"

namespace toy {

using cuda::blocks_for;
using cuda::kBlock;
using cuda::stream;

namespace {

__global__ void fill_kernel(float* dst, int64_t n, float v) { TOY_GRID_STRIDE(i, n) dst[i] = v; }

__global__ void increment_kernel(float* x, float v) { x[0] += v; }

// out [n, e] = table [rows, e] gathered by ids [n]
__global__ void embedding_forward_kernel(const float* ids, int64_t n, const float* table, int64_t e, float* out) {
  TOY_GRID_STRIDE(idx, n * e) {
    const int64_t i = idx / e, j = idx % e;
    out[idx] = table[static_cast<int64_t>(ids[i]) * e + j];
  }
}

// forward: out[i,:] = table[ids[i],:]  =>  dtable[ids[i],:] += dout[i,:], for i in order.
// One thread per (table row r, column j) scans all n ids and adds the matching rows of dout in the CPU's order:
// deterministic without atomics, O(rows * e * n) work, fine for the small vocabularies here (a large vocabulary
// would want a sort of the ids first). The ids reads are uniform across a warp's threads of one row (broadcast).
__global__ void embedding_backward_kernel(const float* ids, int64_t n, const float* dout, int64_t e,
                                          int64_t padding_idx, int64_t rows, float* dtable) {
  TOY_GRID_STRIDE(idx, rows * e) {
    const int64_t r = idx / e, j = idx % e;
    if (r == padding_idx) continue;
    float acc = dtable[idx];
    for (int64_t i = 0; i < n; ++i)
      if (static_cast<int64_t>(ids[i]) == r) acc += dout[i * e + j];
    dtable[idx] = acc;
  }
}

// a [G, R, S] + b [G, S] (inner = S, block = R S): y[g, r, s] = a[g, r, s] + b[g, s]
__global__ void add_forward_kernel(const float* a, int64_t na, const float* b, int64_t block, int64_t inner,
                                   float* y) {
  TOY_GRID_STRIDE(i, na) y[i] = a[i] + b[i / block * inner + i % inner];
}

// forward: y = a + b  =>  da += dy
__global__ void accumulate_kernel(const float* dy, int64_t n, float* dx) { TOY_GRID_STRIDE(i, n) dx[i] += dy[i]; }

// forward: y[g, r, s] = a[g, r, s] + b[g, s]  =>  db[g, s] += sum_r dy[g, r, s], r in order. One thread per entry
// k = g S + s sums its group's R rows in order (coalesced across s), then adds: deterministic, the CPU's order.
__global__ void add_backward_b_kernel(const float* dy, int64_t nb, int64_t block, int64_t inner, float* db) {
  TOY_GRID_STRIDE(k, nb) {
    const int64_t start = k / inner * block + k % inner;
    float acc = dy[start];
    for (int64_t i = start + inner; i < start + block; i += inner) acc += dy[i];
    db[k] += acc;
  }
}

__global__ void scale_forward_kernel(const float* x, int64_t n, float c, float* y) {
  TOY_GRID_STRIDE(i, n) y[i] = x[i] * c;
}

// forward: y = c x  =>  dx += c dy
__global__ void scale_backward_kernel(const float* dy, int64_t n, float c, float* dx) {
  TOY_GRID_STRIDE(i, n) dx[i] += dy[i] * c;
}

template <Unary kOp>
__global__ void unary_forward_kernel(const float* x, int64_t n, float* y) {
  TOY_GRID_STRIDE(i, n) {
    if constexpr (kOp == Unary::Sigmoid) y[i] = scalar::sigmoid(x[i]);
    if constexpr (kOp == Unary::Tanh) y[i] = scalar::tanh_fwd(x[i]);
    if constexpr (kOp == Unary::Relu) y[i] = scalar::relu(x[i]);
  }
}

// forward: y = f(x)  =>  dx += f'(x) dy, with f' from y (sigmoid, tanh) or x (relu), as in core/scalar_ops.h.
template <Unary kOp>
__global__ void unary_backward_kernel(const float* x, const float* y, const float* dy, int64_t n, float* dx) {
  TOY_GRID_STRIDE(i, n) {
    if constexpr (kOp == Unary::Sigmoid) dx[i] += scalar::sigmoid_grad(y[i], dy[i]);
    if constexpr (kOp == Unary::Tanh) dx[i] += scalar::tanh_grad(y[i], dy[i]);
    if constexpr (kOp == Unary::Relu) dx[i] += scalar::relu_grad(x[i], dy[i]);
  }
}

}  // namespace

void CudaBackend::fill(float* dst, size_t count, float v) {
  const cudaStream_t s = stream();
  const auto n = static_cast<int64_t>(count);
  if (n <= 0) return;
  if (v == 0.0f && !std::signbit(v)) {  // +0.0f is all zero bits
    TOY_CUDA_CHECK(cudaMemsetAsync(dst, 0, static_cast<size_t>(n) * sizeof(float), s));
    return;
  }
  fill_kernel<<<blocks_for(n), kBlock, 0, s>>>(dst, n, v);
  TOY_CUDA_CHECK_LAUNCH();
}

void CudaBackend::increment(float* x, float v) {
  const cudaStream_t s = stream();
  increment_kernel<<<1, 1, 0, s>>>(x, v);
  TOY_CUDA_CHECK_LAUNCH();
}

void CudaBackend::embedding_forward(const float* ids, int64_t n, const float* table, int64_t e, float* out) {
  const cudaStream_t s = stream();
  if (n * e <= 0) return;
  embedding_forward_kernel<<<blocks_for(n * e), kBlock, 0, s>>>(ids, n, table, e, out);
  TOY_CUDA_CHECK_LAUNCH();
}

void CudaBackend::embedding_backward(const float* ids, int64_t n, const float* dout, int64_t e, int64_t padding_idx,
                                     int64_t rows, float* dtable) {
  const cudaStream_t s = stream();
  if (n <= 0 || rows * e <= 0) return;
  embedding_backward_kernel<<<blocks_for(rows * e), kBlock, 0, s>>>(ids, n, dout, e, padding_idx, rows, dtable);
  TOY_CUDA_CHECK_LAUNCH();
}

void CudaBackend::add_forward(const float* a, int64_t na, const float* b, int64_t nb, int64_t inner, float* y) {
  const cudaStream_t s = stream();
  if (na <= 0) return;
  add_forward_kernel<<<blocks_for(na), kBlock, 0, s>>>(a, na, b, na / nb * inner, inner, y);
  TOY_CUDA_CHECK_LAUNCH();
}

// Two launches in the CPU's order (da first), so add(x, x), where da == db, accumulates as on the CPU.
void CudaBackend::add_backward(const float* dy, int64_t na, int64_t nb, int64_t inner, float* da, float* db) {
  const cudaStream_t s = stream();
  if (na <= 0) return;
  if (da) {
    accumulate_kernel<<<blocks_for(na), kBlock, 0, s>>>(dy, na, da);
    TOY_CUDA_CHECK_LAUNCH();
  }
  if (db) {
    add_backward_b_kernel<<<blocks_for(nb), kBlock, 0, s>>>(dy, nb, na / nb * inner, inner, db);
    TOY_CUDA_CHECK_LAUNCH();
  }
}

void CudaBackend::scale_forward(const float* x, int64_t n, float c, float* y) {
  const cudaStream_t s = stream();
  if (n <= 0) return;
  scale_forward_kernel<<<blocks_for(n), kBlock, 0, s>>>(x, n, c, y);
  TOY_CUDA_CHECK_LAUNCH();
}

void CudaBackend::scale_backward(const float* dy, int64_t n, float c, float* dx) {
  const cudaStream_t s = stream();
  if (n <= 0) return;
  scale_backward_kernel<<<blocks_for(n), kBlock, 0, s>>>(dy, n, c, dx);
  TOY_CUDA_CHECK_LAUNCH();
}

void CudaBackend::unary_forward(Unary op, const float* x, int64_t n, float* y) {
  const cudaStream_t s = stream();
  if (n <= 0) return;
  switch (op) {
    case Unary::Sigmoid:
      unary_forward_kernel<Unary::Sigmoid><<<blocks_for(n), kBlock, 0, s>>>(x, n, y);
      break;
    case Unary::Tanh:
      unary_forward_kernel<Unary::Tanh><<<blocks_for(n), kBlock, 0, s>>>(x, n, y);
      break;
    case Unary::Relu:
      unary_forward_kernel<Unary::Relu><<<blocks_for(n), kBlock, 0, s>>>(x, n, y);
      break;
  }
  TOY_CUDA_CHECK_LAUNCH();
}

void CudaBackend::unary_backward(Unary op, const float* x, const float* y, const float* dy, int64_t n, float* dx) {
  const cudaStream_t s = stream();
  if (n <= 0) return;
  switch (op) {
    case Unary::Sigmoid:
      unary_backward_kernel<Unary::Sigmoid><<<blocks_for(n), kBlock, 0, s>>>(x, y, dy, n, dx);
      break;
    case Unary::Tanh:
      unary_backward_kernel<Unary::Tanh><<<blocks_for(n), kBlock, 0, s>>>(x, y, dy, n, dx);
      break;
    case Unary::Relu:
      unary_backward_kernel<Unary::Relu><<<blocks_for(n), kBlock, 0, s>>>(x, y, dy, n, dx);
      break;
  }
  TOY_CUDA_CHECK_LAUNCH();
}

}  // namespace toy
