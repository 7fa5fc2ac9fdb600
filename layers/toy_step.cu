// The toy model's fused training step on a GPU: one block per stacked model runs layers/toy_step.h's phases, with
// __syncthreads between them, on the CUDA backend's stream (so CUDA-graph capture records it like any kernel).
// Every element is computed by one thread in a fixed order (no atomics, no thread-count-dependent reductions), so
// results are bit-identical run to run.
#include "cuda/cuda_check.h"
#include "cuda/cuda_context.h"
#include "layers/toy_step.h"

namespace toy {
namespace {

constexpr int kToyStepThreads = 256;

__global__ void __launch_bounds__(kToyStepThreads) toy_step_kernel(ToyStepArgs a) {
  toystep::model_step(a, static_cast<int>(blockIdx.x), [](auto&& phase) {
    phase(static_cast<int>(threadIdx.x), static_cast<int>(blockDim.x));
    __syncthreads();
  });
}

}  // namespace

void run_toy_step_cuda(const ToyStepArgs& a) {
  if (a.models <= 0) return;
  toy_step_kernel<<<static_cast<unsigned>(a.models), kToyStepThreads, 0, cuda::stream()>>>(a);
  TOY_CUDA_CHECK_LAUNCH();
}

}  // namespace toy
