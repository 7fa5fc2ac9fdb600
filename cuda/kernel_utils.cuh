// Shared pieces of the CUDA kernels: launch sizes, grid-stride loops, and fixed-order reductions.
#pragma once
#include <cuda_runtime.h>

#include <cmath>
#include <cstdint>
#include <type_traits>

#include "cuda/cuda_check.h"

namespace toy::cuda {

constexpr int kBlock = 256;
// Enough blocks to cover n with kBlock threads, capped (kernels loop with a grid stride beyond that).
inline unsigned blocks_for(int64_t n, int64_t per_block = kBlock) {
  int64_t b = (n + per_block - 1) / per_block;
  if (b < 1) b = 1;
  if (b > 65535) b = 65535;
  return static_cast<unsigned>(b);
}

#define TOY_GRID_STRIDE(i, n)                                                            \
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < (n); \
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)

// Butterfly reductions: every lane ends with the same value (float + and max are commutative, so lane i and
// lane i^o compute the same pair), in an order fixed by the lane layout.
__device__ __forceinline__ float warp_sum(float v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
__device__ __forceinline__ float warp_max(float v) {
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

// Reduce over a group of kThreads consecutive threads (a warp, or the whole block when kThreads == blockDim.x);
// every thread of the group gets the result. smem holds >= kThreads / 32 floats. Block-wide groups call
// __syncthreads, so every thread of the block must reach the call.
template <int kThreads, bool kMax>
__device__ __forceinline__ float group_reduce(float v, float* smem) {
  v = kMax ? warp_max(v) : warp_sum(v);
  if constexpr (kThreads == 32) {
    return v;
  } else {
    static_assert(kThreads % 32 == 0 && kThreads <= 1024, "a group is a whole number of warps");
    constexpr int kWarps = kThreads / 32;
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    __syncthreads();  // earlier readers of smem are done
    if (lane == 0) smem[warp] = v;
    __syncthreads();
    const float pad = kMax ? -INFINITY : 0.0f;
    v = lane < kWarps ? smem[lane] : pad;
    return kMax ? warp_max(v) : warp_sum(v);  // every warp reduces the same values to the same result
  }
}
template <int kThreads>
__device__ __forceinline__ float group_sum(float v, float* smem) {
  return group_reduce<kThreads, false>(v, smem);
}
template <int kThreads>
__device__ __forceinline__ float group_max(float v, float* smem) {
  return group_reduce<kThreads, true>(v, smem);
}

// Row kernels put one group of kThreads on a row: a warp for short rows (8 rows per block), the whole block for
// long ones. The choice depends on the row length only, so the reduction order is fixed for a given shape.
constexpr int64_t kWarpRowLimit = 256;

// The rows of this thread's group in a row kernel<kThreads> (grid stride); its place in the group is
// threadIdx.x % kThreads.
#define TOY_ROW_LOOP(r, rows, kThreads)                                                                   \
  for (int64_t r = static_cast<int64_t>(blockIdx.x) * (kBlock / (kThreads)) + threadIdx.x / (kThreads); \
       r < (rows); r += static_cast<int64_t>(gridDim.x) * (kBlock / (kThreads)))

// Launches a row kernel for rows of n: launch(threads, blocks) with threads a std::integral_constant<int, 32> (a warp
// per row, n <= kWarpRowLimit) or <int, kBlock> (a block per row), to run kernel<threads><<<blocks, kBlock, 0, s>>>.
template <class Launch>
void launch_rows(int64_t rows, int64_t n, Launch&& launch) {
  if (n <= kWarpRowLimit)
    launch(std::integral_constant<int, 32>{}, blocks_for(rows, kBlock / 32));
  else
    launch(std::integral_constant<int, kBlock>{}, blocks_for(rows, 1));
  TOY_CUDA_CHECK_LAUNCH();
}

}  // namespace toy::cuda
