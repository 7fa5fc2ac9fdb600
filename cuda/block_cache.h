// The caching allocator's bookkeeping without CUDA: size buckets, free lists, and the blocks a CUDA graph may still
// use. The raw allocator is injected (cudaMalloc/cudaFree in cuda/allocator.cpp, a fake in tests/test_block_cache.cpp),
// so every rule below is tested without a GPU. Plain C++ (no CUDA headers).
//
// The rule for CUDA graphs. A captured graph replays raw pointers, so a block it uses must not become another
// tensor's while the graph can still be replayed. The cache does not know which blocks a graph's kernels touch, so it
// assumes the worst: a graph may use every block that was handed out at some moment of its capture (live when the
// capture began, or allocated during it). Such a block, when freed while its graph lives, is *pinned*: kept out of
// the free lists (so no allocation, during the capture or after it, can get it) until every graph that may use it is
// released (destroyed, re-captured, or its capture failed); it then joins its free list. Consequences:
//   - a cache hit during a capture only hands out a block that was free when the capture began (not one freed during
//     the capture: the graph may read that block's old contents at the start of every replay, before the point where
//     the capture freed it);
//   - a cache miss during a capture is an error (the raw allocator would break the capture);
//   - release_cached() (empty_cache) leaves pinned blocks alone, and is refused during a capture.
// Blocks freed while no graph that may use them lives go straight back to their free list, as before: all work runs on
// one stream, so later work is ordered after the kernels that used them.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "cuda/cuda_info.h"

namespace toy::cuda {

class BlockCache {
 public:
  // Returns a new block of exactly `bytes`, or nullptr when the device is out of memory (other failures throw).
  using RawAlloc = std::function<void*(size_t bytes)>;
  // Gives a block back to the device.
  using RawFree = std::function<void(void* p)>;
  // Identifies one capture (one graph); 0 is never a capture.
  using CaptureId = uint64_t;

  BlockCache(RawAlloc raw_alloc, RawFree raw_free);
  BlockCache(const BlockCache&) = delete;
  BlockCache& operator=(const BlockCache&) = delete;

  // Blocks are at least kMinBlock bytes; below kLargeBlock sizes round up to a power of two, above to a multiple
  // of kLargeBlock (so a large tensor wastes at most 1 MiB, a small one at most half its block).
  static constexpr size_t kMinBlock = 512;
  static constexpr size_t kLargeBlock = size_t(1) << 20;
  static size_t bucket_size(size_t bytes);

  // A block of at least `bytes`: from its free list, else from the raw allocator (after an out-of-memory, the free
  // lists go back to the device and the raw allocator is tried once more: toy::DeviceError when that fails too).
  // During a capture a miss throws toy::Error instead of calling the raw allocator.
  void* allocate(size_t bytes);
  // Back to its free list, or pinned (see the rule above). A pointer the cache did not hand out is ignored.
  void deallocate(void* p);
  // Give every free-listed block back to the device (pinned ones stay); refused (toy::Error) during a capture.
  void release_cached();

  // A capture begins: every block handed out now may be used by it. One capture at a time (toy::Error otherwise).
  CaptureId begin_capture();
  // The capture ended (successfully or not); its blocks stay reserved for it until release(id).
  void end_capture(CaptureId id);
  // The graph of capture `id` is gone (destroyed, re-captured, or never made): its pinned blocks become free when no
  // other live graph may use them. Releasing an unknown id or 0 does nothing.
  void release(CaptureId id);
  bool capturing() const;

  MemoryStats stats() const;
  void reset_peak();
  // Test hooks: is p handed out / free-listed / pinned?
  bool is_live(void* p) const;
  bool is_free(void* p) const;
  bool is_pinned(void* p) const;

 private:
  struct Block {
    size_t size = 0;
    std::vector<CaptureId> graphs;  // live graphs that may use this block (usually none or one)
  };
  void release_cached_locked();

  RawAlloc raw_alloc_;
  RawFree raw_free_;
  mutable std::mutex mu_;
  std::unordered_map<size_t, std::vector<void*>> free_;  // bucket size -> free blocks of that size
  std::unordered_map<void*, Block> live_;                // handed-out blocks
  std::unordered_map<void*, Block> pinned_;              // freed, but a live graph may still use them
  std::vector<CaptureId> graphs_;                        // captures not yet released (the one running included)
  CaptureId capturing_ = 0, next_id_ = 1;
  MemoryStats stats_;
};

}  // namespace toy::cuda
