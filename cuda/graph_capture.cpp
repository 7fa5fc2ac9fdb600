// CUDA graph capture and replay of the backend's stream (see cuda/graph_capture.h).
#include "cuda/graph_capture.h"

#include <cuda_runtime.h>

#include "cuda/allocator.h"
#include "cuda/cuda_check.h"
#include "cuda/cuda_context.h"

namespace toy::cuda {

struct CudaGraph::Impl {
  cudaGraph_t graph = nullptr;
  cudaGraphExec_t exec = nullptr;
  bool capturing = false;
  BlockCache::CaptureId blocks = 0;  // the allocator's name for the blocks this graph may use (0: none held)

  // Errors ignored: this also runs from the destructor and after a failed capture. The blocks pinned for this graph
  // are released after the graph is destroyed (a replay still queued keeps running, and the stream orders any new
  // user of those blocks after it).
  void reset() {
    if (exec) (void)cudaGraphExecDestroy(exec);
    if (graph) (void)cudaGraphDestroy(graph);
    exec = nullptr;
    graph = nullptr;
    allocator().release(blocks);
    blocks = 0;
  }
  // Leave capture mode whatever happened, so the stream stays usable.
  cudaError_t stop() {
    cudaGraph_t g = nullptr;
    cudaError_t err = cudaStreamEndCapture(stream(), &g);
    capturing = false;
    allocator().end_capture(blocks);
    if (err == cudaSuccess) {
      graph = g;
    } else {
      if (g) (void)cudaGraphDestroy(g);
      (void)cudaGetLastError();
    }
    return err;
  }
};

CudaGraph::CudaGraph() : impl_(std::make_unique<Impl>()) {}

CudaGraph::~CudaGraph() {
  if (impl_->capturing) (void)impl_->stop();
  impl_->reset();
}

void CudaGraph::begin_capture() {
  if (impl_->capturing) throw_error("graph: begin_capture() while already capturing");
  impl_->reset();
  cudaStream_t s = stream();
  TOY_CUDA_CHECK(cudaStreamSynchronize(s));  // earlier eager work is finished, not captured
  impl_->blocks = allocator().begin_capture();
  cudaError_t err = cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal);
  if (err != cudaSuccess) {
    allocator().release(impl_->blocks);
    impl_->blocks = 0;
    throw_cuda_error(__FILE__, __LINE__, "cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal)",
                     cudaGetErrorString(err));
  }
  impl_->capturing = true;
}

void CudaGraph::end_capture() {
  if (!impl_->capturing) throw_error("graph: end_capture() without begin_capture()");
  cudaError_t err = impl_->stop();
  if (err != cudaSuccess) {
    impl_->reset();  // no graph: nothing can replay the blocks it held
    throw_cuda_error(__FILE__, __LINE__, "cudaStreamEndCapture(stream(), &graph)", cudaGetErrorString(err));
  }
  err = cudaGraphInstantiate(&impl_->exec, impl_->graph, 0);
  if (err != cudaSuccess) {
    impl_->exec = nullptr;
    impl_->reset();
    throw_cuda_error(__FILE__, __LINE__, "cudaGraphInstantiate(&exec, graph, 0)", cudaGetErrorString(err));
  }
}

void CudaGraph::replay() {
  if (!impl_->exec) throw_error("graph: replay() before a successful capture");
  TOY_CUDA_CHECK(cudaGraphLaunch(impl_->exec, stream()));
}

bool CudaGraph::captured() const { return impl_->exec != nullptr; }

}  // namespace toy::cuda
