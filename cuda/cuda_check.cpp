// The throwing half of cuda/cuda_check.h, kept in a .cpp so that nvcc never compiles fmt.
#include "cuda/cuda_check.h"

#include "core/error.h"

namespace toy::cuda {

void throw_cuda_error(const char* file, int line, const char* expr, const char* msg) {
  throw DeviceError(fmt::format("cuda: {} failed at {}:{}: {}", expr, file, line, msg ? msg : "(no message)"));
}

void throw_error(const std::string& msg) { fail("cuda: {}", msg); }

}  // namespace toy::cuda
