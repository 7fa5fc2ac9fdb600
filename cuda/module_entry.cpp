// The module's table (cuda/module.h): the real backend, device list, allocator counters and CUDA graphs of cuda/.
#include "cuda/graph_capture.h"
#include "cuda/module.h"

namespace toy::cuda {
namespace {

CudaGraph& graph(void* g) { return *static_cast<CudaGraph*>(g); }

const ModuleApi kApi = [] {
  ModuleApi a;
  a.backend = [] () -> Backend& { return cuda_backend(); };
  a.unavailable_reason = [] { return cuda_unavailable_reason(); };
  a.devices = [] { return devices(); };
  a.memory_stats = [] { return memory_stats(); };
  a.reset_peak_memory = [] { reset_peak_memory(); };
  a.empty_cache = [] { empty_cache(); };
  a.graph_create = []() -> void* { return new CudaGraph(); };
  a.graph_destroy = [](void* g) { delete static_cast<CudaGraph*>(g); };
  a.graph_begin = [](void* g) { graph(g).begin_capture(); };
  a.graph_end = [](void* g) { graph(g).end_capture(); };
  a.graph_replay = [](void* g) { graph(g).replay(); };
  a.graph_captured = [](const void* g) { return static_cast<const CudaGraph*>(g)->captured(); };
  return a;
}();

}  // namespace
}  // namespace toy::cuda

TOY_CUDA_EXPORT const toy::cuda::ModuleApi* toyformer_cuda_module() { return &toy::cuda::kApi; }
