// The dispatch of the toy model's fused step by device (the CPU's in layers/toy_step_cpu.cpp, the GPU's in the CUDA
// module), and model_step on one thread: the reference the CPU step is tested against.
#include "layers/toy_step.h"

#include "core/error.h"
#include "cuda/module.h"

namespace toy {

void run_toy_step(Device device, const ToyStepArgs& a) {
  if (device == Device::CUDA) {
    TOY_CHECK(!a.sgd_lr && !a.lane_weights, "toy step: SGD inside the step is the CPU's only (on CUDA the optimizer "
              "runs after the step)");
    return run_toy_step_cuda(a);
  }
  run_toy_step_cpu(a);
}

void run_toy_step_reference(const ToyStepArgs& a) {
  TOY_CHECK(!a.lane_weights, "toy step: the reference keeps no weights in lanes");
  for (int64_t m = 0; m < a.models; ++m) {
    toystep::model_step(a, static_cast<int>(m), [](auto&& phase) { phase(0, 1); });
    if (a.sgd_lr) toystep::sgd_model(a, m);
  }
}

// The CUDA kernel lives in the CUDA module (layers/toy_step.cu, cuda/module.h), found by name on first use.
void run_toy_step_cuda(const ToyStepArgs& a) {
  using Entry = void (*)(const ToyStepArgs*);
  static const Entry entry = reinterpret_cast<Entry>(cuda::module_symbol("toyformer_cuda_toy_step"));
  entry(&a);
}

}  // namespace toy
