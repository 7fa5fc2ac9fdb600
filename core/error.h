// Errors: every op checks its inputs at entry and throws toy::Error naming the op, the shapes and what it expected.
#pragma once
#include <fmt/format.h>

#include <stdexcept>
#include <string>
#include <utility>

namespace toy {

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A computation that went numerically wrong (a non-finite loss, a diverged run): not the user's input as such, so
// the commands exit with a code of its own (apps/exit_codes.h).
struct NumericalError : Error {
  using Error::Error;
};

// The device failed: a CUDA or cuBLAS call returned an error (a kernel fault, an unusable driver, out of device
// memory). Neither the user's input nor the numbers: the commands exit with a code of its own (apps/exit_codes.h).
// Thrown inside the CUDA module and caught in the engine and the apps (a type whose name crosses the module boundary:
// libstdc++ matches exception types by name, so the module's hidden copy still matches).
struct DeviceError : Error {
  using Error::Error;
};

template <class... Args>
[[noreturn]] void fail(fmt::format_string<Args...> f, Args&&... args) {
  throw Error(fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace toy

// TOY_CHECK(cond, "fmt {}", args...): throw toy::Error with the formatted message when cond is false.
#define TOY_CHECK(cond, ...)                  \
  do {                                        \
    if (!(cond)) ::toy::fail(__VA_ARGS__);    \
  } while (0)
