// The caching allocator's bookkeeping (see cuda/block_cache.h).
#include "cuda/block_cache.h"

#include <algorithm>
#include <utility>

#include "core/error.h"

namespace toy::cuda {

BlockCache::BlockCache(RawAlloc raw_alloc, RawFree raw_free)
    : raw_alloc_(std::move(raw_alloc)), raw_free_(std::move(raw_free)) {}

size_t BlockCache::bucket_size(size_t bytes) {
  if (bytes <= kMinBlock) return kMinBlock;
  if (bytes >= kLargeBlock) return (bytes + kLargeBlock - 1) / kLargeBlock * kLargeBlock;
  size_t b = kMinBlock;
  while (b < bytes) b <<= 1;
  return b;
}

void* BlockCache::allocate(size_t bytes) {
  const size_t size = bucket_size(bytes);
  std::lock_guard<std::mutex> lock(mu_);
  void* p = nullptr;
  auto it = free_.find(size);
  if (it != free_.end() && !it->second.empty()) {
    p = it->second.back();
    it->second.pop_back();
    stats_.bytes_cached -= size;
  } else {
    if (capturing_)
      fail("cuda: allocator: a new {}-byte block was requested during CUDA graph capture (the device allocation would "
           "break the capture, and blocks freed during a capture stay reserved for its graph); run the captured work "
           "once eagerly first so the cache holds every buffer it needs",
           size);
    p = raw_alloc_(size);
    if (!p) {  // out of memory: give the free lists back to the device, try once more
      release_cached_locked();
      p = raw_alloc_(size);
    }
    if (!p)
      throw DeviceError(fmt::format("cuda: allocator: out of device memory for a {}-byte block; {} bytes in use, {} "
                                    "cached, {} held for live CUDA graphs",
                                    size, stats_.bytes_in_use, stats_.bytes_cached, stats_.bytes_pinned));
    ++stats_.cuda_malloc_count;
  }
  ++stats_.allocation_count;
  Block& b = live_[p];
  b.size = size;
  b.graphs.clear();
  if (capturing_) b.graphs.push_back(capturing_);
  stats_.bytes_in_use += size;
  if (stats_.bytes_in_use > stats_.peak_bytes_in_use) stats_.peak_bytes_in_use = stats_.bytes_in_use;
  return p;
}

void BlockCache::deallocate(void* p) {
  if (!p) return;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = live_.find(p);
  if (it == live_.end()) return;  // not ours (a caller's bug; a debug build of the caller asserts)
  Block b = std::move(it->second);
  live_.erase(it);
  stats_.bytes_in_use -= b.size;
  if (b.graphs.empty()) {
    free_[b.size].push_back(p);
    stats_.bytes_cached += b.size;
  } else {
    stats_.bytes_pinned += b.size;
    pinned_.emplace(p, std::move(b));
  }
}

void BlockCache::release_cached_locked() {
  for (auto& [size, blocks] : free_) {
    for (void* p : blocks) raw_free_(p);
    stats_.bytes_cached -= size * blocks.size();
    blocks.clear();
  }
}

void BlockCache::release_cached() {
  std::lock_guard<std::mutex> lock(mu_);
  if (capturing_) fail("cuda: allocator: empty_cache() during CUDA graph capture");
  release_cached_locked();
}

BlockCache::CaptureId BlockCache::begin_capture() {
  std::lock_guard<std::mutex> lock(mu_);
  if (capturing_) fail("cuda: allocator: a CUDA graph capture began while another one is running");
  const CaptureId id = next_id_++;
  for (auto& [p, b] : live_) b.graphs.push_back(id);
  graphs_.push_back(id);
  capturing_ = id;
  return id;
}

void BlockCache::end_capture(CaptureId id) {
  std::lock_guard<std::mutex> lock(mu_);
  if (capturing_ == id) capturing_ = 0;
}

void BlockCache::release(CaptureId id) {
  if (id == 0) return;
  std::lock_guard<std::mutex> lock(mu_);
  auto g = std::find(graphs_.begin(), graphs_.end(), id);
  if (g == graphs_.end()) return;
  graphs_.erase(g);
  if (capturing_ == id) capturing_ = 0;
  auto drop = [id](Block& b) {
    b.graphs.erase(std::remove(b.graphs.begin(), b.graphs.end(), id), b.graphs.end());
    return b.graphs.empty();
  };
  for (auto& [p, b] : live_) drop(b);
  for (auto it = pinned_.begin(); it != pinned_.end();) {
    if (drop(it->second)) {
      free_[it->second.size].push_back(it->first);
      stats_.bytes_pinned -= it->second.size;
      stats_.bytes_cached += it->second.size;
      it = pinned_.erase(it);
    } else {
      ++it;
    }
  }
}

bool BlockCache::capturing() const {
  std::lock_guard<std::mutex> lock(mu_);
  return capturing_ != 0;
}

MemoryStats BlockCache::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

void BlockCache::reset_peak() {
  std::lock_guard<std::mutex> lock(mu_);
  stats_.peak_bytes_in_use = stats_.bytes_in_use;
}

bool BlockCache::is_live(void* p) const {
  std::lock_guard<std::mutex> lock(mu_);
  return live_.count(p) != 0;
}

bool BlockCache::is_free(void* p) const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [size, blocks] : free_)
    if (std::find(blocks.begin(), blocks.end(), p) != blocks.end()) return true;
  return false;
}

bool BlockCache::is_pinned(void* p) const {
  std::lock_guard<std::mutex> lock(mu_);
  return pinned_.count(p) != 0;
}

}  // namespace toy::cuda
