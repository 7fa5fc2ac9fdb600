// The one place a device is mapped to its backend.
#include "core/backend.h"

#include <cstring>

#include "core/cpu/cpu_backend.h"
#include "core/error.h"

namespace toy {

Backend& backend(Device d) {
  if (d == Device::CPU) return cpu_backend();
  return cuda_backend();
}

Device parse_device(const char* name) {
  if (std::strcmp(name, "cpu") == 0) return Device::CPU;
  TOY_CHECK(std::strcmp(name, "cuda") == 0, "device: unknown '{}' (expected cpu or cuda)", name);
  TOY_CHECK(cuda_compiled(), "--device cuda: toyformer was built without the CUDA backend");
  TOY_CHECK(cuda_available(), "--device cuda: no usable CUDA GPU: {} (see `toyformer devices`)",
            cuda_unavailable_reason());
  return Device::CUDA;
}

}  // namespace toy
