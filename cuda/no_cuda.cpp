// Built instead of the CUDA backend when toyformer is configured without CUDA: the backend throws, the device list
// is empty, the allocator counters are zero and CUDA graphs refuse to capture.
#include "core/backend.h"
#include "core/error.h"
#include "cuda/cuda_info.h"
#include "cuda/graph_capture.h"

namespace toy {

Backend& cuda_backend() { fail("cuda: toyformer was built without the CUDA backend (configure with a CUDA toolkit)"); }
bool cuda_available() { return false; }
const char* cuda_unavailable_reason() { return "toyformer was built without the CUDA backend"; }
bool cuda_compiled() { return false; }

namespace cuda {

std::vector<DeviceInfo> devices() { return {}; }
MemoryStats memory_stats() { return {}; }
void reset_peak_memory() {}
void empty_cache() {}

struct CudaGraph::Impl {};
CudaGraph::CudaGraph() = default;
CudaGraph::~CudaGraph() = default;
void CudaGraph::begin_capture() { fail("cuda: graph capture needs the CUDA backend; toyformer was built without it"); }
void CudaGraph::end_capture() { fail("cuda: graph capture needs the CUDA backend; toyformer was built without it"); }
void CudaGraph::replay() { fail("cuda: graph replay needs the CUDA backend; toyformer was built without it"); }
bool CudaGraph::captured() const { return false; }

}  // namespace cuda
}  // namespace toy
