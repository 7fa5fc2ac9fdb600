// The CUDA backend as a run-time module. The engine never links CUDA: cuda/*.cu, cuda/*.cpp and the models' kernels
// (layers/*.cu) build libtoyformer_cuda.so, which cuda/module_loader.cpp opens (dlopen) the first time anything asks
// for a CUDA device, so a CPU run never maps libcudart or cuBLAS (no ~200 MB, no 0.08 s of start-up).
//
// The module exports two kinds of symbol, both extern "C":
//   toyformer_cuda_module()   the table below: the backend, the device list, the allocator's counters, CUDA graphs;
//   toyformer_cuda_<kernel>   a model's own fused kernel (layers/toy_step.cu), found by name with module_symbol(),
//                             so this interface knows no model.
// Everything else in the module is hidden (compiled with -fvisibility=hidden, linked -Bsymbolic), so its copies of
// the names the loader also defines (cuda_backend(), cuda::devices(), CudaGraph) never meet.
// Plain C++17 (included from .cu files).
#pragma once
#include <vector>

#include "core/backend.h"
#include "cuda/cuda_info.h"

#if defined(__GNUC__)
#define TOY_CUDA_EXPORT extern "C" __attribute__((visibility("default")))
#else
#define TOY_CUDA_EXPORT extern "C"
#endif

namespace toy::cuda {

// Bumped whenever ModuleApi or a type it passes changes: the loader refuses a module built from other sources.
// 2: MemoryStats gained bytes_pinned.
constexpr int kModuleAbi = 2;

struct ModuleApi {
  int abi = kModuleAbi;
  Backend& (*backend)() = nullptr;
  const char* (*unavailable_reason)() = nullptr;  // "" when a GPU is usable
  std::vector<DeviceInfo> (*devices)() = nullptr;
  MemoryStats (*memory_stats)() = nullptr;
  void (*reset_peak_memory)() = nullptr;
  void (*empty_cache)() = nullptr;
  // CUDA graphs (cuda/graph_capture.h), one opaque handle each.
  void* (*graph_create)() = nullptr;
  void (*graph_destroy)(void* g) = nullptr;
  void (*graph_begin)(void* g) = nullptr;
  void (*graph_end)(void* g) = nullptr;
  void (*graph_replay)(void* g) = nullptr;
  bool (*graph_captured)(const void* g) = nullptr;
};

// A symbol of the module (a model's kernel entry, e.g. "toyformer_cuda_toy_step"); throws toy::Error naming the
// module and the reason when the module cannot be loaded or lacks the symbol.
void* module_symbol(const char* name);

}  // namespace toy::cuda

TOY_CUDA_EXPORT const toy::cuda::ModuleApi* toyformer_cuda_module();
