// The caching allocator's bookkeeping (cuda/block_cache.h) over a fake device: buckets and reuse, the out-of-memory
// retry, and the CUDA-graph rule (a block a live graph may use is never handed to a new tensor). No GPU needed:
// cuda/block_cache.cpp is compiled into the test binary (tests/CMakeLists.txt).
#include <doctest/doctest.h>

#include <cstdint>
#include <map>
#include <set>
#include <string>

#include "core/error.h"
#include "cuda/block_cache.h"

using toy::cuda::BlockCache;

namespace {

// A fake device: hands out distinct addresses, remembers what is outstanding, runs out of memory past `capacity`.
struct FakeDevice {
  size_t capacity = size_t(1) << 30;
  size_t used = 0;
  int mallocs = 0, frees = 0, refused = 0;
  uintptr_t next = 0x10000;
  std::map<void*, size_t> blocks;

  BlockCache cache() {
    return BlockCache(
        [this](size_t bytes) -> void* {
          if (used + bytes > capacity) {
            ++refused;
            return nullptr;
          }
          void* p = reinterpret_cast<void*>(next);
          next += bytes + 4096;
          blocks[p] = bytes;
          used += bytes;
          ++mallocs;
          return p;
        },
        [this](void* p) {
          REQUIRE(blocks.count(p) == 1);
          used -= blocks[p];
          blocks.erase(p);
          ++frees;
        });
  }
};

// Every byte the fake device handed out is in use, cached or pinned.
void check_accounting(const BlockCache& c, const FakeDevice& d) {
  const toy::cuda::MemoryStats s = c.stats();
  CHECK(s.bytes_in_use + s.bytes_cached + s.bytes_pinned == d.used);
}

template <class F>
std::string error_of(F f) {
  try {
    f();
  } catch (const toy::Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("block_cache/buckets: sizes round up to a power of two below 1 MiB, to whole MiB above") {
  CHECK(BlockCache::bucket_size(1) == 512);
  CHECK(BlockCache::bucket_size(512) == 512);
  CHECK(BlockCache::bucket_size(513) == 1024);
  CHECK(BlockCache::bucket_size(4000) == 4096);
  CHECK(BlockCache::bucket_size((size_t(1) << 20) - 1) == (size_t(1) << 20));
  CHECK(BlockCache::bucket_size((size_t(1) << 20) + 1) == (size_t(2) << 20));
}

TEST_CASE("block_cache/reuse: a freed block serves the next request of its bucket, no new device allocation") {
  FakeDevice d;
  BlockCache c = d.cache();
  void* a = c.allocate(4000);
  CHECK(c.is_live(a));
  c.deallocate(a);
  CHECK(c.is_free(a));
  void* b = c.allocate(3000);  // same 4096-byte bucket
  CHECK(b == a);
  CHECK(d.mallocs == 1);
  void* other = c.allocate(5000);  // another bucket: a new block
  CHECK(other != a);
  CHECK(d.mallocs == 2);
  CHECK(c.stats().allocation_count == 3);
  CHECK(c.stats().cuda_malloc_count == 2);
  CHECK(c.stats().peak_bytes_in_use == 4096 + 8192);
  check_accounting(c, d);
  c.deallocate(b);
  c.deallocate(other);
  c.deallocate(reinterpret_cast<void*>(0x1));  // not ours: ignored
  c.deallocate(nullptr);
  CHECK(c.stats().bytes_in_use == 0);
  c.release_cached();
  CHECK(d.used == 0);
  CHECK(d.frees == 2);
  check_accounting(c, d);
}

TEST_CASE("block_cache/oom: out of memory gives the free lists back and retries once, then a DeviceError") {
  FakeDevice d;
  d.capacity = 3 * 4096;
  BlockCache c = d.cache();
  void* a = c.allocate(4096);
  void* b = c.allocate(4096);
  c.deallocate(b);                  // 4096 cached
  void* big = c.allocate(2 * 4096);  // 8192 bucket: does not fit beside a and the cached b; the cache lets b go
  CHECK(big != nullptr);
  CHECK(d.refused == 1);
  CHECK(d.frees == 1);
  CHECK(c.stats().bytes_cached == 0);
  check_accounting(c, d);
  bool device_error = false;
  try {
    c.allocate(4 * 4096);
  } catch (const toy::DeviceError& e) {
    device_error = true;
    CHECK(std::string(e.what()).find("out of device memory") != std::string::npos);
  }
  CHECK(device_error);
  CHECK(c.is_live(a));
  check_accounting(c, d);
}

TEST_CASE("block_cache/capture: a miss during capture is a plain Error and never reaches the device") {
  FakeDevice d;
  BlockCache c = d.cache();
  const auto id = c.begin_capture();
  CHECK(c.capturing());
  const int before = d.mallocs;
  bool device_error = false;
  std::string m;
  try {
    c.allocate(1000);
  } catch (const toy::DeviceError&) {
    device_error = true;
  } catch (const toy::Error& e) {
    m = e.what();
  }
  CHECK_FALSE(device_error);
  CHECK_MESSAGE(m.find("during CUDA graph capture") != std::string::npos, "got: '", m, "'");
  CHECK(d.mallocs == before);
  CHECK(error_of([&] { c.release_cached(); }).find("during CUDA graph capture") != std::string::npos);
  CHECK(error_of([&] { c.begin_capture(); }).find("another one is running") != std::string::npos);
  c.end_capture(id);
  CHECK_FALSE(c.capturing());
  c.release(id);
}

TEST_CASE("block_cache/capture: a block freed during capture is pinned, never a cache hit, until the graph goes") {
  FakeDevice d;
  BlockCache c = d.cache();
  void* used = c.allocate(1000);   // live when the capture begins: the graph may use it
  void* spare = c.allocate(1000);
  c.deallocate(spare);             // free before the capture: may serve a hit during it
  const auto id = c.begin_capture();
  void* during = c.allocate(1000);
  CHECK(during == spare);          // the one allowed kind of hit
  c.deallocate(used);              // freed during the capture: the graph may still read or write it
  CHECK(c.is_pinned(used));
  CHECK_FALSE(c.is_free(used));
  CHECK(c.stats().bytes_pinned == 1024);
  // Not a hit for a new tensor of the capture (a replay would read the old contents first) ...
  CHECK(error_of([&] { c.allocate(1000); }).find("during CUDA graph capture") != std::string::npos);
  c.end_capture(id);
  // ... nor for one after it, while the graph lives.
  void* after = c.allocate(1000);
  CHECK(after != used);
  CHECK(after != during);
  CHECK(c.is_pinned(used));
  // empty_cache leaves it alone.
  c.deallocate(after);
  c.release_cached();
  CHECK(c.is_pinned(used));
  CHECK(d.blocks.count(used) == 1);
  check_accounting(c, d);
  // The graph is destroyed (or re-captured): the block is an ordinary free block again.
  c.release(id);
  CHECK_FALSE(c.is_pinned(used));
  CHECK(c.is_free(used));
  CHECK(c.stats().bytes_pinned == 0);
  CHECK(c.allocate(1000) == used);
  check_accounting(c, d);
  c.release(id);  // twice, or an id never handed out: nothing
  c.release(12345);
  c.release(0);
}

TEST_CASE("block_cache/capture: blocks of a capture freed after it are pinned while the graph lives, later ones are not") {
  FakeDevice d;
  BlockCache c = d.cache();
  void* weights = c.allocate(2048);
  const auto id = c.begin_capture();
  c.end_capture(id);
  void* later = c.allocate(2048);  // handed out after the capture: the graph cannot know it
  c.deallocate(later);
  CHECK(c.is_free(later));
  c.deallocate(weights);  // the graph may replay into it
  CHECK(c.is_pinned(weights));
  CHECK(c.allocate(2048) == later);
  c.release(id);
  CHECK(c.is_free(weights));
  check_accounting(c, d);
}

TEST_CASE("block_cache/capture: two live graphs hold a block until the second one goes, a failed capture releases") {
  FakeDevice d;
  BlockCache c = d.cache();
  void* shared = c.allocate(700);
  void* spare = c.allocate(700);
  c.deallocate(spare);
  const auto g1 = c.begin_capture();
  c.end_capture(g1);
  const auto g2 = c.begin_capture();
  void* in_g2 = c.allocate(700);  // the spare: free before g2 began
  CHECK(in_g2 == spare);
  c.end_capture(g2);
  CHECK(g1 != g2);
  c.deallocate(shared);
  c.deallocate(in_g2);
  CHECK(c.is_pinned(shared));
  CHECK(c.is_pinned(in_g2));
  c.release(g2);
  CHECK(c.is_pinned(shared));  // g1 was captured while it was live
  CHECK(c.is_free(in_g2));     // handed out after g1's capture: only g2 could use it
  c.release(g1);
  CHECK(c.is_free(shared));
  CHECK(c.stats().bytes_pinned == 0);
  check_accounting(c, d);

  // A capture that failed (no graph) releases at once: nothing stays pinned.
  void* x = c.allocate(700);
  const auto g3 = c.begin_capture();
  c.deallocate(x);
  CHECK(c.is_pinned(x));
  c.end_capture(g3);
  c.release(g3);
  CHECK(c.is_free(x));
  check_accounting(c, d);
}
