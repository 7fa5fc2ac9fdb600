// The caching device allocator over cudaMalloc/cudaFree (see cuda/allocator.h and cuda/block_cache.h).
#include "cuda/allocator.h"

#include <string>

#include "cuda/cuda_check.h"
#include "cuda/cuda_context.h"

namespace toy::cuda {
namespace {

// nullptr when the device is out of memory (the cache then gives its free blocks back and retries); any other failure
// throws. A stream captured outside CudaGraph (which the cache cannot see) is refused here too.
void* device_malloc(size_t bytes) {
  if (capturing())
    throw_error("allocator: a new " + std::to_string(bytes) +
                "-byte block was requested during CUDA graph capture (cudaMalloc is not allowed there); run the "
                "captured work once eagerly first so the cache holds every buffer it needs");
  void* p = nullptr;
  const cudaError_t err = cudaMalloc(&p, bytes);
  if (err == cudaErrorMemoryAllocation) {
    (void)cudaGetLastError();  // clear the error: the cache retries once after giving its free blocks back
    return nullptr;
  }
  if (err != cudaSuccess) {
    (void)cudaGetLastError();
    throw_cuda_error(__FILE__, __LINE__, ("cudaMalloc(&p, " + std::to_string(bytes) + ")").c_str(),
                     cudaGetErrorString(err));
  }
  return p;
}

void device_free(void* p) { TOY_CUDA_CHECK(cudaFree(p)); }  // cudaFree waits for the device: queued work is done

}  // namespace

BlockCache& allocator() {
  static BlockCache* instance = new BlockCache(device_malloc, device_free);  // leaked on purpose, see the header
  return *instance;
}

}  // namespace toy::cuda
