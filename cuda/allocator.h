// The caching device allocator: size-bucketed free lists, so a training loop stops calling cudaMalloc after its
// first step. Freed blocks go back to their bucket's list, never to cudaFree (except empty_cache() and the retry
// after an out-of-memory). All work runs on the backend's one stream, so a block freed after queuing kernels that
// use it can be handed out at once: later work on the same stream is ordered after those kernels.
// CUDA graphs (cuda/graph_capture.h) are the exception to "at once": a graph replays its captured pointers later, so
// a block that was handed out at any moment of a capture and is freed while that graph lives is pinned until the graph
// is destroyed or re-captured, and a cache hit during a capture never gets a block freed during that capture. A cache
// miss during a capture is an error (cudaMalloc would break the capture): run the graph's work once eagerly before
// capturing, so the cache already holds every size the graph needs. The bookkeeping, rule and tests: cuda/block_cache.h.
#pragma once
#include "cuda/block_cache.h"

namespace toy::cuda {

// The process-wide allocator over cudaMalloc/cudaFree (never destroyed: tensors may be freed during static
// destruction). Out of device memory is a toy::DeviceError; a cudaMalloc while the stream is being captured, a
// toy::Error.
BlockCache& allocator();

}  // namespace toy::cuda
