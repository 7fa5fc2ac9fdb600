// The CUDA backend's plumbing: availability answers without throwing, a missing GPU gives a clear toy::Error (never a
// crash), and, with a GPU, the caching allocator, the backend's name and CUDA graph capture/replay.
#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

#include "autograd/ops.h"
#include "core/backend.h"
#include "core/error.h"
#include "core/rng.h"
#include "core/tensor.h"
#include "cuda/cuda_info.h"
#include "cuda/graph_capture.h"
#include "tests/gpu_guard.h"

using namespace toy;

namespace {

const bool kNoGpu = !toy::cuda_available();

// The message of the toy::Error that f throws ("" when it does not throw one).
template <class F>
std::string error_of(F f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

bool is_no_cuda_message(const std::string& m) {
  return m.find("no CUDA device") != std::string::npos || m.find("built without the CUDA backend") != std::string::npos;
}

}  // namespace

TEST_CASE("cuda/basics: cuda_available() and devices() answer without throwing") {
  bool available = true;
  CHECK_NOTHROW(available = cuda_available());
  if (!cuda_compiled()) CHECK_FALSE(available);
  std::vector<cuda::DeviceInfo> devs;
  CHECK_NOTHROW(devs = cuda::devices());
  CHECK(devs.empty() != available);
  for (const cuda::DeviceInfo& d : devs) {
    CHECK(!d.name.empty());
    CHECK(d.total_memory > 0);
    CHECK(d.major > 0);
    CHECK(cuda::describe(d).find(d.name) != std::string::npos);
  }
}

TEST_CASE("cuda/basics: without a GPU, CUDA tensors throw a clear error" * doctest::skip(!kNoGpu)) {
  std::string m = error_of([] { Tensor::zeros(Shape{3}, Device::CUDA); });
  CHECK_MESSAGE(is_no_cuda_message(m), "got: '", m, "'");
  m = error_of([] { backend(Device::CUDA).allocate(4); });
  CHECK_MESSAGE(is_no_cuda_message(m), "got: '", m, "'");
  m = error_of([] { Tensor::from(Shape{2}, {1.0f, 2.0f}).to(Device::CUDA); });
  CHECK_MESSAGE(is_no_cuda_message(m), "got: '", m, "'");
  // A second attempt fails the same way (no half-initialized state), and the CPU is unaffected.
  m = error_of([] { Tensor::zeros(Shape{3}, Device::CUDA); });
  CHECK_MESSAGE(is_no_cuda_message(m), "got: '", m, "'");
  CHECK(Tensor::full(Shape{2}, 3.0f).to_vector() == std::vector<float>{3.0f, 3.0f});
  CHECK_FALSE(cuda_available());

  cuda::CudaGraph g;
  CHECK_THROWS_AS(g.begin_capture(), Error);
  CHECK_FALSE(g.captured());
  CHECK_THROWS_AS(g.replay(), Error);
  CHECK(cuda::memory_stats().cuda_malloc_count == 0);
}

TEST_CASE("cuda/basics: backend name and device") { TOY_REQUIRE_GPU();
  Backend& be = backend(Device::CUDA);
  CHECK(be.device() == Device::CUDA);
  CHECK(std::string(be.name()).rfind("cuda (", 0) == 0);
  CHECK(std::string(be.name()).find("no device") == std::string::npos);
}

TEST_CASE("cuda/allocator: freed blocks are reused, no cudaMalloc in steady state") { TOY_REQUIRE_GPU();
  { Tensor warm = Tensor::zeros(Shape{1000}, Device::CUDA); }  // also initializes the device
  const cuda::MemoryStats before = cuda::memory_stats();
  for (int step = 0; step < 10; ++step) {
    Tensor a = Tensor::zeros(Shape{1000}, Device::CUDA);  // same bucket as `warm`
    Tensor b = Tensor::full(Shape{999}, 1.0f, Device::CUDA);
    CHECK(b.to_vector()[998] == 1.0f);
  }
  const cuda::MemoryStats after = cuda::memory_stats();
  CHECK(after.cuda_malloc_count <= before.cuda_malloc_count + 1);  // b's block: at most one new one
  CHECK(after.allocation_count == before.allocation_count + 20);
  CHECK(after.bytes_in_use == before.bytes_in_use);
  CHECK(after.peak_bytes_in_use >= before.bytes_in_use + 2 * 1000 * sizeof(float));
  {
    Tensor big = Tensor::zeros(Shape{1 << 20}, Device::CUDA);
    CHECK(cuda::memory_stats().bytes_in_use >= after.bytes_in_use + (size_t(1) << 22));
  }
  CHECK(cuda::memory_stats().bytes_in_use == after.bytes_in_use);
  CHECK(cuda::memory_stats().bytes_cached > 0);
  cuda::empty_cache();
  CHECK(cuda::memory_stats().bytes_cached == 0);
  cuda::reset_peak_memory();
  CHECK(cuda::memory_stats().peak_bytes_in_use == cuda::memory_stats().bytes_in_use);
}

TEST_CASE("cuda/graph: an optimizer step replays and sees a new learning rate") { TOY_REQUIRE_GPU();
  Backend& be = backend(Device::CUDA);
  Tensor w = Tensor::full(Shape{33}, 1.0f, Device::CUDA);
  Tensor g = Tensor::full(Shape{33}, 2.0f, Device::CUDA);
  Tensor m = Tensor::zeros(Shape{33}, Device::CUDA);
  Tensor lr = Tensor::scalar(0.5f, Device::CUDA);
  be.sgd_update(w.data(), g.data(), m.data(), 33, lr.data(), 33, 0.0f, false);  // eager: w = 0
  CHECK(w.to_vector()[32] == 0.0f);

  cuda::CudaGraph graph;
  graph.begin_capture();
  be.sgd_update(w.data(), g.data(), m.data(), 33, lr.data(), 33, 0.0f, false);
  graph.end_capture();
  REQUIRE(graph.captured());
  CHECK(w.to_vector()[32] == 0.0f);  // capture runs nothing
  graph.replay();
  CHECK(w.to_vector()[32] == -1.0f);
  lr.fill(0.25f);  // a schedule change between replays
  graph.replay();
  graph.replay();
  be.synchronize();
  CHECK(w.to_vector()[32] == -2.0f);
}

TEST_CASE("cuda/graph: a cache miss during capture is a clear error") { TOY_REQUIRE_GPU();
  cuda::CudaGraph graph;
  graph.begin_capture();
  const std::string m = error_of([] { Tensor::empty(Shape{12345677}, Device::CUDA); });  // a size never cached
  CHECK_MESSAGE(m.find("during CUDA graph capture") != std::string::npos, "got: '", m, "'");
  try {
    graph.end_capture();
  } catch (const Error&) {
  }
  Tensor t = Tensor::full(Shape{5}, 2.0f, Device::CUDA);  // the stream works again
  CHECK(t.to_vector()[4] == 2.0f);
}

TEST_CASE("cuda/graph: an autograd step captured and replayed matches the eager one") { TOY_REQUIRE_GPU();
  Rng rng(3);
  Var x = Var::constant(init::uniform(Shape{2, 5, 7}, rng, -1.0f, 1.0f).to(Device::CUDA));
  Var w = Var::param(init::uniform(Shape{7, 3}, rng, -1.0f, 1.0f).to(Device::CUDA));
  Var loss = mean(sigmoid(matmul(x, w)));
  Graph g(loss);
  g.zero_grad();
  g.forward();
  g.backward();
  const std::vector<float> eager_loss = loss.value().to_vector(), eager_grad = w.grad().to_vector();

  cuda::CudaGraph graph;
  graph.begin_capture();
  g.zero_grad();
  g.forward();
  g.backward();
  graph.end_capture();
  w.grad().fill(123.0f);
  graph.replay();
  CHECK(loss.value().to_vector() == eager_loss);
  CHECK(w.grad().to_vector() == eager_grad);
}

TEST_CASE("cuda/graph: a tensor freed during capture never lends its memory to a new tensor while the graph lives") {
  TOY_REQUIRE_GPU();
  Backend& be = backend(Device::CUDA);
  auto used = std::make_unique<Tensor>(Tensor::full(Shape{1000}, 2.0f, Device::CUDA));
  float* const used_at = used->data();
  { Tensor warm = Tensor::zeros(Shape{1000}, Device::CUDA); }  // one free block of the bucket, for the capture's hit
  const cuda::MemoryStats before = cuda::memory_stats();
  {
    cuda::CudaGraph graph;
    graph.begin_capture();
    be.fill(used_at, 1000, 5.0f);  // the graph writes the tensor ...
    used.reset();                   // ... which the host frees during the capture
    Tensor during = Tensor::empty(Shape{1000}, Device::CUDA);  // a hit: the block that was free before the capture
    CHECK(during.data() != used_at);
    graph.end_capture();
    REQUIRE(graph.captured());
    CHECK(cuda::memory_stats().bytes_pinned == before.bytes_pinned + 4096);
    // Before the fix the freed block went back to the cache, this tensor got it, and every replay overwrote it.
    Tensor fresh = Tensor::full(Shape{1000}, 7.0f, Device::CUDA);
    CHECK(fresh.data() != used_at);
    graph.replay();
    graph.replay();
    be.synchronize();
    CHECK(fresh.to_vector()[999] == 7.0f);
    CHECK(cuda::memory_stats().bytes_pinned == before.bytes_pinned + 4096);
  }
  // The graph is gone: the block is an ordinary cached block again.
  CHECK(cuda::memory_stats().bytes_pinned == before.bytes_pinned);
  Tensor again = Tensor::zeros(Shape{1000}, Device::CUDA);
  Tensor again2 = Tensor::zeros(Shape{1000}, Device::CUDA);
  CHECK((again.data() == used_at || again2.data() == used_at));
}

TEST_CASE("cuda/graph: a tensor alive during capture and freed while the graph lives is pinned until it goes") {
  TOY_REQUIRE_GPU();
  Backend& be = backend(Device::CUDA);
  auto w = std::make_unique<Tensor>(Tensor::full(Shape{33}, 1.0f, Device::CUDA));
  float* const w_at = w->data();
  Tensor g = Tensor::full(Shape{33}, 2.0f, Device::CUDA);
  Tensor m = Tensor::zeros(Shape{33}, Device::CUDA);
  Tensor lr = Tensor::scalar(0.5f, Device::CUDA);
  auto graph = std::make_unique<cuda::CudaGraph>();
  graph->begin_capture();
  be.sgd_update(w_at, g.data(), m.data(), 33, lr.data(), 33, 0.0f, false);
  graph->end_capture();
  w.reset();  // freed after the capture: a replay would still write it
  Tensor other = Tensor::full(Shape{33}, 9.0f, Device::CUDA);
  CHECK(other.data() != w_at);
  graph->replay();
  be.synchronize();
  CHECK(other.to_vector()[32] == 9.0f);
  CHECK(cuda::memory_stats().bytes_pinned >= 512);
  graph.reset();
  CHECK(cuda::memory_stats().bytes_pinned == 0);
}

TEST_CASE("cuda/errors: a failed CUDA call is a toy::DeviceError (the command's exit code 3)") {
  TOY_REQUIRE_GPU();
  Tensor t = Tensor::full(Shape{5}, 2.0f, Device::CUDA);
  cuda::CudaGraph graph;
  graph.begin_capture();
  // A copy to the host synchronizes with the stream, which CUDA refuses while it is captured (and the capture is
  // invalidated): the runtime's error, not a misuse we detect ourselves.
  CHECK_THROWS_AS(t.to_vector(), DeviceError);
  CHECK_THROWS_AS(graph.end_capture(), DeviceError);
  CHECK_FALSE(graph.captured());
  CHECK(t.to_vector()[4] == 2.0f);  // the stream works again
  // Misuse and absence stay plain errors (exit code 2).
  bool device_error = false;
  try {
    graph.replay();
  } catch (const DeviceError&) {
    device_error = true;
  } catch (const Error&) {
  }
  CHECK_FALSE(device_error);
}
