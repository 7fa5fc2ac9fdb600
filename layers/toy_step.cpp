// The toy model's fused step on the CPU (each model on this thread, phase after phase), and the dispatch by device.
#include "layers/toy_step.h"

#include "core/error.h"

namespace toy {

void run_toy_step(Device device, const ToyStepArgs& a) {
  if (device == Device::CUDA) return run_toy_step_cuda(a);
  for (int64_t m = 0; m < a.models; ++m)
    toystep::model_step(a, static_cast<int>(m), [](auto&& phase) { phase(0, 1); });
}

#ifndef TOYFORMER_HAS_CUDA
void run_toy_step_cuda(const ToyStepArgs&) { fail("toy step: this build has no CUDA backend"); }
#endif

}  // namespace toy
