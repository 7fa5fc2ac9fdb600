// Column blocks of the last axis (slice_last, concat_last: multi-head attention's head split and merge) and conv1d.
// One thread per output element; each gradient element is written by one thread (no atomics), and conv1d's kernel
// gradient is one block per tap with a fixed-order block reduction.
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

// y [rows, len] = x [rows, n][:, start : start + len]
__global__ void slice_last_forward_kernel(const float* x, int64_t rows, int64_t n, int64_t start, int64_t len,
                                          float* y) {
  TOY_GRID_STRIDE(idx, rows * len) y[idx] = x[(idx / len) * n + start + idx % len];
}

// forward: y = x[:, start : start + len]  =>  dx[:, start : start + len] += dy
__global__ void slice_last_backward_kernel(const float* dy, int64_t rows, int64_t n, int64_t start, int64_t len,
                                           float* dx) {
  TOY_GRID_STRIDE(idx, rows * len) dx[(idx / len) * n + start + idx % len] += dy[idx];
}

// y [rows, total][:, offset : offset + n] = x [rows, n]
__global__ void concat_last_forward_kernel(const float* x, int64_t rows, int64_t n, int64_t total, int64_t offset,
                                           float* y) {
  TOY_GRID_STRIDE(idx, rows * n) y[(idx / n) * total + offset + idx % n] = x[idx];
}

// forward: y[:, offset : offset + n] = x  =>  dx += dy[:, offset : offset + n]
__global__ void concat_last_backward_kernel(const float* dy, int64_t rows, int64_t n, int64_t total, int64_t offset,
                                            float* dx) {
  TOY_GRID_STRIDE(idx, rows * n) dx[idx] += dy[(idx / n) * total + offset + idx % n];
}

// y[r, i] = sum_j w[j] x[r, i + j - pad_left] (core/scalar_ops.h, the CPU's formula and order)
__global__ void conv1d_forward_kernel(const float* x, int64_t rows, int64_t l, const float* w, int64_t k,
                                      int64_t pad_left, int64_t l_out, float* y) {
  TOY_GRID_STRIDE(idx, rows * l_out) {
    const int64_t r = idx / l_out, i = idx % l_out;
    y[idx] = scalar::conv1d_at(x + r * l, l, w, k, pad_left, i);
  }
}

// forward: y[r, i] = sum_j w[j] x[r, i + j - pad_left]  =>  dx[r, p] += sum_j w[j] dy[r, p - j + pad_left]
__global__ void conv1d_backward_x_kernel(const float* w, const float* dy, int64_t rows, int64_t l, int64_t k,
                                         int64_t pad_left, int64_t l_out, float* dx) {
  TOY_GRID_STRIDE(idx, rows * l) {
    const int64_t r = idx / l, p = idx % l;
    dx[idx] += scalar::conv1d_dx_at(dy + r * l_out, l_out, w, k, pad_left, p);
  }
}

// forward: y[r, i] = sum_j w[j] x[r, i + j - pad_left]  =>  dw[j] += sum_{r, i} dy[r, i] x[r, i + j - pad_left].
// One block per tap j: each thread sums its strided slice of the rows * l_out products in order, then the fixed
// block tree combines them (the order depends on the sizes only).
__global__ void conv1d_backward_w_kernel(const float* x, const float* dy, int64_t rows, int64_t l, int64_t k,
                                         int64_t pad_left, int64_t l_out, float* dw) {
  __shared__ float smem[32];
  for (int64_t j = blockIdx.x; j < k; j += gridDim.x) {  // uniform per block: every thread reaches the reduction
    float s = 0.0f;
    for (int64_t idx = threadIdx.x; idx < rows * l_out; idx += kBlock) {
      const int64_t r = idx / l_out, i = idx % l_out;
      const int64_t p = i + j - pad_left;
      if (p >= 0 && p < l) s += dy[idx] * x[r * l + p];
    }
    s = group_sum<kBlock>(s, smem);
    if (threadIdx.x == 0) dw[j] += s;
  }
}

}  // namespace

void CudaBackend::slice_last_forward(const float* x, int64_t rows, int64_t n, int64_t start, int64_t len, float* y) {
  const cudaStream_t s = stream();
  if (rows * len <= 0) return;
  slice_last_forward_kernel<<<blocks_for(rows * len), kBlock, 0, s>>>(x, rows, n, start, len, y);
  TOY_CUDA_CHECK_LAUNCH();
}

void CudaBackend::slice_last_backward(const float* dy, int64_t rows, int64_t n, int64_t start, int64_t len, float* dx) {
  const cudaStream_t s = stream();
  if (rows * len <= 0) return;
  slice_last_backward_kernel<<<blocks_for(rows * len), kBlock, 0, s>>>(dy, rows, n, start, len, dx);
  TOY_CUDA_CHECK_LAUNCH();
}

void CudaBackend::concat_last_forward(const float* x, int64_t rows, int64_t n, int64_t total, int64_t offset,
                                      float* y) {
  const cudaStream_t s = stream();
  if (rows * n <= 0) return;
  concat_last_forward_kernel<<<blocks_for(rows * n), kBlock, 0, s>>>(x, rows, n, total, offset, y);
  TOY_CUDA_CHECK_LAUNCH();
}

void CudaBackend::concat_last_backward(const float* dy, int64_t rows, int64_t n, int64_t total, int64_t offset,
                                       float* dx) {
  const cudaStream_t s = stream();
  if (rows * n <= 0) return;
  concat_last_backward_kernel<<<blocks_for(rows * n), kBlock, 0, s>>>(dy, rows, n, total, offset, dx);
  TOY_CUDA_CHECK_LAUNCH();
}

void CudaBackend::conv1d_forward(const float* x, int64_t rows, int64_t l, const float* w, int64_t k, int64_t pad_left,
                                 int64_t l_out, float* y) {
  const cudaStream_t s = stream();
  if (rows * l_out <= 0) return;
  conv1d_forward_kernel<<<blocks_for(rows * l_out), kBlock, 0, s>>>(x, rows, l, w, k, pad_left, l_out, y);
  TOY_CUDA_CHECK_LAUNCH();
}

void CudaBackend::conv1d_backward(const float* x, const float* w, const float* dy, int64_t rows, int64_t l, int64_t k,
                                  int64_t pad_left, int64_t l_out, float* dx, float* dw) {
  const cudaStream_t s = stream();
  if (rows * l_out <= 0) return;
  if (dx) {
    conv1d_backward_x_kernel<<<blocks_for(rows * l), kBlock, 0, s>>>(w, dy, rows, l, k, pad_left, l_out, dx);
    TOY_CUDA_CHECK_LAUNCH();
  }
  if (dw) {
    conv1d_backward_w_kernel<<<blocks_for(k, 1), kBlock, 0, s>>>(x, dy, rows, l, k, pad_left, l_out, dw);
    TOY_CUDA_CHECK_LAUNCH();
  }
}

}  // namespace toy
