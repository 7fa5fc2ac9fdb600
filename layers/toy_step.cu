// The toy model's fused training step on a GPU: one block per stacked model runs layers/toy_step.h's phases, with
// __syncthreads between them, on the CUDA backend's stream (so CUDA-graph capture records it like any kernel).
// Every element is computed by one thread in a fixed order (no atomics, no thread-count-dependent reductions), so
// results are bit-identical run to run.
#include "cuda/cuda_check.h"
#include "cuda/cuda_context.h"
#include "cuda/module.h"
#include "layers/toy_step.h"

namespace toy {

constexpr int kToyStepThreads = 256;

__global__ void __launch_bounds__(kToyStepThreads) toy_step_kernel(ToyStepArgs a) {
  toystep::model_step(a, static_cast<int>(blockIdx.x), [](auto&& phase) {
    phase(static_cast<int>(threadIdx.x), static_cast<int>(blockDim.x));
    __syncthreads();
  });
}

}  // namespace toy

// The module's entry for the engine's run_toy_step_cuda (layers/toy_step.cpp, found by name: cuda/module.h).
TOY_CUDA_EXPORT void toyformer_cuda_toy_step(const toy::ToyStepArgs* a) {
  if (a->models <= 0) return;
  toy::toy_step_kernel<<<static_cast<unsigned>(a->models), toy::kToyStepThreads, 0, toy::cuda::stream()>>>(*a);
  TOY_CUDA_CHECK_LAUNCH();
}
