// A stand-in for libtoyformer_cuda.so whose device "fails": it claims a usable GPU, and its backend throws the
// toy::DeviceError that TOY_CUDA_CHECK throws for a failed CUDA call. Built like the real module (hidden visibility,
// -Bsymbolic, --no-undefined) and opened through TOYFORMER_CUDA_MODULE, it lets tests/test_exit_codes.cpp check,
// without a GPU, that a device failure crosses the module boundary as a DeviceError and `toyformer` exits with 3.
#include <vector>

#include "core/error.h"
#include "cuda/module.h"

namespace {

const toy::cuda::ModuleApi kApi = [] {
  toy::cuda::ModuleApi a;
  a.backend = []() -> toy::Backend& {
    throw toy::DeviceError(
        "cuda: cudaStreamCreateWithFlags(&c->stream, cudaStreamNonBlocking) failed at tests/fault_module: an illegal "
        "memory access was encountered (the test's stand-in module)");
  };
  a.unavailable_reason = [] { return ""; };
  a.devices = [] { return std::vector<toy::cuda::DeviceInfo>{}; };
  a.memory_stats = [] { return toy::cuda::MemoryStats{}; };
  a.reset_peak_memory = [] {};
  a.empty_cache = [] {};
  a.graph_create = []() -> void* { throw toy::DeviceError("cuda: graph_create failed (the test's stand-in module)"); };
  a.graph_destroy = [](void*) {};
  a.graph_begin = [](void*) {};
  a.graph_end = [](void*) {};
  a.graph_replay = [](void*) {};
  a.graph_captured = [](const void*) { return false; };
  return a;
}();

}  // namespace

TOY_CUDA_EXPORT const toy::cuda::ModuleApi* toyformer_cuda_module() { return &kApi; }
