// Error checking for every CUDA and cuBLAS call: TOY_CUDA_CHECK / TOY_CUBLAS_CHECK throw toy::DeviceError (a
// toy::Error; `toyformer` exits with code 3 for it) with file:line, the failing expression and the library's error
// string; TOY_CUDA_CHECK_LAUNCH() follows every kernel launch. Conditions that are not a failed call (no GPU at all,
// an allocation during graph capture, a misuse of the graph API) are a plain toy::Error (throw_error).
// Kernel faults are asynchronous and surface at a later check: run with CUDA_LAUNCH_BLOCKING=1 to pin them down.
// Plain C++17 without fmt or Eigen, so .cu files can include it; the throwing lives in cuda/cuda_check.cpp.
#pragma once
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <string>

namespace toy::cuda {

// Throws toy::DeviceError("cuda: <expr> failed at <file>:<line>: <msg>").
[[noreturn]] void throw_cuda_error(const char* file, int line, const char* expr, const char* msg);
// Throws toy::Error("cuda: <msg>") for conditions that are not a failed call (no device, allocation in capture).
[[noreturn]] void throw_error(const std::string& msg);

}  // namespace toy::cuda

#define TOY_CUDA_CHECK(expr)                                                                       \
  do {                                                                                             \
    cudaError_t toy_cuda_err_ = (expr);                                                            \
    if (toy_cuda_err_ != cudaSuccess)                                                              \
      ::toy::cuda::throw_cuda_error(__FILE__, __LINE__, #expr, cudaGetErrorString(toy_cuda_err_)); \
  } while (0)

#define TOY_CUBLAS_CHECK(expr)                                                                         \
  do {                                                                                                 \
    cublasStatus_t toy_cublas_st_ = (expr);                                                            \
    if (toy_cublas_st_ != CUBLAS_STATUS_SUCCESS)                                                       \
      ::toy::cuda::throw_cuda_error(__FILE__, __LINE__, #expr, cublasGetStatusString(toy_cublas_st_)); \
  } while (0)

// After a <<<...>>> launch: configuration errors show up here at once, faults in the kernel at a later check.
#define TOY_CUDA_CHECK_LAUNCH() TOY_CUDA_CHECK(cudaGetLastError())
