// The CUDA backend's memory methods, its one instance and the availability queries; the kernels' members are in
// cuda/kernels_*.cu and cuda/gemm.cpp (the class: cuda/cuda_backend.h).
#include "cuda/cuda_backend.h"

#include <string>

#include "cuda/allocator.h"
#include "cuda/cuda_check.h"
#include "cuda/cuda_context.h"

namespace toy {

using cuda::stream;

const char* CudaBackend::name() const {
  if (name_.empty()) name_ = "cuda (" + cuda::device_description() + ")";
  return name_.c_str();
}

float* CudaBackend::allocate(size_t n) {
  stream();  // initializes the device, or throws the clear "no CUDA device" error
  return static_cast<float*>(cuda::allocator().allocate(n * sizeof(float)));
}
void CudaBackend::deallocate(float* p, size_t) { cuda::allocator().deallocate(p); }
void CudaBackend::copy_to_host(float* host_dst, const float* src, size_t n) {
  TOY_CUDA_CHECK(cudaMemcpyAsync(host_dst, src, n * sizeof(float), cudaMemcpyDeviceToHost, stream()));
  TOY_CUDA_CHECK(cudaStreamSynchronize(stream()));
}
void CudaBackend::copy_from_host(float* dst, const float* host_src, size_t n) {
  TOY_CUDA_CHECK(cudaMemcpyAsync(dst, host_src, n * sizeof(float), cudaMemcpyHostToDevice, stream()));
  TOY_CUDA_CHECK(cudaStreamSynchronize(stream()));
}
void CudaBackend::copy(float* dst, const float* src, size_t n) {
  if (dst != src && n)
    TOY_CUDA_CHECK(cudaMemcpyAsync(dst, src, n * sizeof(float), cudaMemcpyDeviceToDevice, stream()));
}
void CudaBackend::synchronize() { TOY_CUDA_CHECK(cudaStreamSynchronize(stream())); }

Backend& cuda_backend() {
  static CudaBackend* instance = new CudaBackend();  // leaked on purpose: storage may be freed during exit
  return *instance;
}

namespace {
// Why no GPU is usable ("" when one is), decided once: the device count, or the CUDA error that prevented it.
const std::string& unavailable_reason() {
  static const std::string reason = []() -> std::string {
    int n = 0;
    cudaError_t err = cudaGetDeviceCount(&n);
    if (err != cudaSuccess) {
      (void)cudaGetLastError();  // do not leave the error for the next launch check to find
      return std::string("cudaGetDeviceCount failed: ") + cudaGetErrorString(err) + " (" + cudaGetErrorName(err) + ")";
    }
    return n > 0 ? "" : "the CUDA runtime found no GPU";
  }();
  return reason;
}
}  // namespace

bool cuda_available() {
  try {
    return unavailable_reason().empty();
  } catch (...) {
    return false;
  }
}

const char* cuda_unavailable_reason() {
  try {
    return unavailable_reason().c_str();
  } catch (...) {
    return "the CUDA runtime could not be queried";
  }
}

bool cuda_compiled() { return true; }

}  // namespace toy
