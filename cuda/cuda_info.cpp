// GPU listing and allocator statistics (see cuda/cuda_info.h).
#include "cuda/cuda_info.h"

#include <cuda_runtime.h>

#include "core/backend.h"
#include "cuda/allocator.h"

namespace toy::cuda {

std::vector<DeviceInfo> devices() {
  std::vector<DeviceInfo> out;
  try {
    if (!cuda_available()) return out;
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
      (void)cudaGetLastError();
      return out;
    }
    for (int i = 0; i < n; ++i) {
      cudaDeviceProp p{};
      if (cudaGetDeviceProperties(&p, i) != cudaSuccess) {
        (void)cudaGetLastError();
        continue;
      }
      DeviceInfo d;
      d.index = i;
      d.name = p.name;
      d.total_memory = p.totalGlobalMem;
      d.major = p.major;
      d.minor = p.minor;
      d.multiprocessors = p.multiProcessorCount;
      out.push_back(std::move(d));
    }
  } catch (...) {
    out.clear();
  }
  return out;
}

MemoryStats memory_stats() { return allocator().stats(); }
void reset_peak_memory() { allocator().reset_peak(); }
void empty_cache() { allocator().release_cached(); }

}  // namespace toy::cuda
