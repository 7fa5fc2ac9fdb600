// `toyformer devices`: the backends compiled in and the GPUs found (name, memory, compute capability).
#include <fmt/format.h>

#include "apps/commands.h"
#include "core/backend.h"
#include "cuda/cuda_info.h"

namespace toy::app {

Runner add_devices(CLI::App& app) {
  app.add_subcommand("devices", "list the compiled backends and the GPUs found");
  return [] {
    fmt::print("backends: cpu{}\n", cuda_compiled() ? ", cuda" : "");
    fmt::print("cpu: {}\n", backend(Device::CPU).name());
    if (!cuda_compiled()) {
      fmt::print("cuda: not compiled in (configure with a CUDA toolkit at /usr/local/cuda)\n");
      return 0;
    }
    std::vector<cuda::DeviceInfo> gpus = cuda::devices();
    if (gpus.empty())
      fmt::print("cuda: compiled in; no usable GPU: {} (--device cuda will refuse)\n", cuda_unavailable_reason());
    for (const auto& d : gpus) fmt::print("cuda {}\n", cuda::describe(d));
    return 0;
  };
}

}  // namespace toy::app
