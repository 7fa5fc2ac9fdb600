// CUDA graphs over the backend's one stream: capture a step's kernels once, replay them with one launch.
//
//   CudaGraph g;
//   graph.forward(); graph.backward(); opt.step();   // once eagerly: fills the allocator cache, creates cuBLAS
//   g.begin_capture(); graph.forward(); graph.backward(); opt.step(); g.end_capture();
//   for (...) { upload the batch into the same input tensors; g.replay(); }
//
// Capture records pointers and host scalars as they are: every tensor the captured work touches must stay alive
// and at the same address while the graph may be replayed, and host-side values (shapes, alpha, constants) are
// frozen; values meant to change (lr, step, dloss) are read from device memory by the kernels. During capture
// nothing may cudaMalloc (the allocator throws a clear error on a cache miss) and nothing may synchronize with
// the host (no copies to the host, no item()). Capture uses cudaStreamCaptureModeThreadLocal. Plain C++.
//
// Memory a graph may use stays the graph's (cuda/block_cache.h has the rule and its tests): every allocator block
// handed out at some moment of the capture, when freed while this graph lives, is kept out of the allocator's cache
// until the graph is destroyed or begin_capture() replaces it (or its capture failed); a cache hit during the capture
// only returns a block that was free when the capture began. So a tensor freed during or after the capture never
// lends its memory to a new tensor that a replay would overwrite. Pinned memory shows in memory_stats().bytes_pinned.
#pragma once
#include <memory>

namespace toy::cuda {

class CudaGraph {
 public:
  CudaGraph();
  ~CudaGraph();
  CudaGraph(const CudaGraph&) = delete;
  CudaGraph& operator=(const CudaGraph&) = delete;

  // Start recording the backend's stream (replaces an earlier capture).
  void begin_capture();
  // Stop recording and instantiate the graph; throws (leaving the graph empty) when the capture was invalidated.
  void end_capture();
  // Launch the captured work on the backend's stream (asynchronous: Backend::synchronize() waits for it).
  void replay();
  bool captured() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace toy::cuda
