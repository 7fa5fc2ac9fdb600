// What the CUDA backend can tell about the machine and itself: the GPUs (for `toyformer devices`) and the caching
// allocator's counters. Plain C++ (no CUDA headers); built without CUDA, devices() is empty and the stats are zero.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace toy::cuda {

struct DeviceInfo {
  int index = 0;
  std::string name;
  size_t total_memory = 0;   // bytes
  int major = 0, minor = 0;  // compute capability
  int multiprocessors = 0;
};

// The visible GPUs; empty when there is none, CUDA is not compiled in, or the driver reports any error. Never throws.
std::vector<DeviceInfo> devices();

// "0: NVIDIA H100 80GB HBM3 (sm_90, 132 SMs, 79.1 GiB)"
inline std::string describe(const DeviceInfo& d) {
  char buf[256];
  std::snprintf(buf, sizeof buf, "%d: %s (sm_%d%d, %d SMs, %.1f GiB)", d.index, d.name.c_str(), d.major, d.minor,
                d.multiprocessors, static_cast<double>(d.total_memory) / (1024.0 * 1024.0 * 1024.0));
  return buf;
}

// The caching allocator's counters (bytes count whole blocks, i.e. after rounding to the block size).
struct MemoryStats {
  size_t bytes_in_use = 0;        // blocks handed out to tensors
  size_t peak_bytes_in_use = 0;   // since start or reset_peak_memory()
  size_t bytes_cached = 0;        // free blocks kept for reuse
  size_t bytes_pinned = 0;        // freed blocks a live CUDA graph may still use: reused once it is gone
  int64_t cuda_malloc_count = 0;  // cache misses (each one a cudaMalloc); flat in steady state
  int64_t allocation_count = 0;   // all allocations, hits and misses
};

MemoryStats memory_stats();
void reset_peak_memory();
// Return the cached (free) blocks to the driver (blocks held for a live CUDA graph stay; refused during a capture).
void empty_cache();

}  // namespace toy::cuda
