// The exit codes of `toyformer`, and what it prints and returns for an exception that escapes a command. Header-only
// and without CLI11, so the tests check the mapping itself (tests/test_exit_codes.cpp) without provoking each failure.
#pragma once
#include <exception>
#include <new>
#include <string>
#include <utility>

#include "core/error.h"

namespace toy::app {

// 0 done; 1 a numerical failure (e.g. a non-finite loss: toy::NumericalError), out of host memory, or an internal
// error; 2 bad usage or bad input (flags, values, files; also --device cuda where no GPU is usable); 3 the device
// failed: a CUDA or cuBLAS call returned an error (toy::DeviceError: a kernel fault, a broken driver, out of device
// memory). compare and gradcheck also use 1 for "differs" / "failed".
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;
constexpr int kExitDevice = 3;

struct ExitReport {
  int code = kExitFailure;
  std::string line;  // the one line for stderr, "toyformer: ...\n"
};

// The exit code and the error line for an exception that escaped a command (most derived type first).
inline ExitReport exit_report_of(std::exception_ptr p) {
  auto line = [](const char* kind, const char* what) { return std::string("toyformer: ") + kind + ": " + what + "\n"; };
  if (!p) return {kExitFailure, line("unexpected error", "no exception")};
  try {
    std::rethrow_exception(p);
  } catch (const NumericalError& e) {
    return {kExitFailure, line("numerical failure", e.what())};
  } catch (const DeviceError& e) {
    return {kExitDevice, line("device failure", e.what())};
  } catch (const Error& e) {
    return {kExitUsage, line("error", e.what())};
  } catch (const std::bad_alloc&) {
    return {kExitFailure, line("error", "out of memory (the sizes the flags ask for do not fit in this machine's "
                                        "memory; try smaller ones)")};
  } catch (const std::exception& e) {
    return {kExitFailure, line("unexpected error", e.what())};
  } catch (...) {
    return {kExitFailure, line("unexpected error", "an exception of unknown type")};
  }
}

inline int exit_code_of(std::exception_ptr p) { return exit_report_of(std::move(p)).code; }

}  // namespace toy::app
