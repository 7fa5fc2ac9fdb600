// The toy model's fused training step: one block per stacked model runs core/toy_step.h's phases, with
// __syncthreads between them. Every element is computed by one thread in a fixed order (no atomics, no
// thread-count-dependent reductions), so results are bit-identical run to run.
#include "core/toy_step.h"
#include "cuda/kernel_utils.cuh"
#include "cuda/kernels.h"

namespace toy::cuda {
namespace {

constexpr int kToyStepThreads = 256;

__global__ void __launch_bounds__(kToyStepThreads) toy_step_kernel(ToyStepArgs a) {
  toystep::model_step(a, static_cast<int>(blockIdx.x), [](auto&& phase) {
    phase(static_cast<int>(threadIdx.x), static_cast<int>(blockDim.x));
    __syncthreads();
  });
}

}  // namespace

void toy_step(const ToyStepArgs& a, cudaStream_t s) {
  toy_step_kernel<<<static_cast<unsigned>(a.models), kToyStepThreads, 0, s>>>(a);
  TOY_CUDA_CHECK_LAUNCH();
}

}  // namespace toy::cuda
