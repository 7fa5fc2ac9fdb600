// `toyformer`'s exit codes: the mapping from the exception that escapes a command to the code and the one error line
// (apps/exit_codes.h), and, end to end, a device failure thrown inside the CUDA module ending the command with 3
// (a stand-in module, tests/fault_module, so no GPU is needed).
#include <doctest/doctest.h>

#include <cstdio>
#include <exception>
#include <new>
#include <stdexcept>
#include <string>

#include "apps/exit_codes.h"
#include "core/backend.h"
#include "core/error.h"
#include "tests/cli_util.h"

using namespace toy;
using toy::app::exit_report_of;
using toy::testing::run_cli;

namespace {

template <class E>
app::ExitReport report_of(E e) {
  return exit_report_of(std::make_exception_ptr(std::move(e)));
}

}  // namespace

TEST_CASE("exit/codes: each kind of failure has its code and its one line") {
  CHECK(app::kExitFailure == 1);
  CHECK(app::kExitUsage == 2);
  CHECK(app::kExitDevice == 3);

  const auto device = report_of(DeviceError("cuda: cudaMemcpyAsync(...) failed at x.cpp:3: an illegal memory access"));
  CHECK(device.code == 3);
  CHECK(device.line == "toyformer: device failure: cuda: cudaMemcpyAsync(...) failed at x.cpp:3: an illegal memory "
                       "access\n");
  CHECK(app::exit_code_of(std::make_exception_ptr(DeviceError("x"))) == 3);

  // A DeviceError caught as the Error it also is would be the usage code: the most derived type wins.
  const auto usage = report_of(Error("--lr: -0.5 is not in (0, 10]"));
  CHECK(usage.code == 2);
  CHECK(usage.line == "toyformer: error: --lr: -0.5 is not in (0, 10]\n");

  const auto numerical = report_of(NumericalError("epoch 3 of 5020: the training loss is NaN"));
  CHECK(numerical.code == 1);
  CHECK(numerical.line == "toyformer: numerical failure: epoch 3 of 5020: the training loss is NaN\n");

  const auto oom = report_of(std::bad_alloc());
  CHECK(oom.code == 1);
  CHECK(oom.line.rfind("toyformer: error: out of memory", 0) == 0);

  const auto other = report_of(std::logic_error("vector::at"));
  CHECK(other.code == 1);
  CHECK(other.line == "toyformer: unexpected error: vector::at\n");

  CHECK(exit_report_of(std::make_exception_ptr(42)).code == 1);
  CHECK(exit_report_of(nullptr).code == 1);
}

TEST_CASE("exit/cli: --help lists the exit codes") {
  const auto r = run_cli("--help", "exit_help");
  CHECK(r.code == 0);
  CHECK_MESSAGE(r.out.find("3 device failure") != std::string::npos, r.out);
}

TEST_CASE("exit/cli: a CUDA call failing inside the module ends the command with 3 and the CUDA error's text") {
#ifdef TOY_FAULT_MODULE
  const std::string env = std::string("TOYFORMER_CUDA_MODULE=") + TOY_FAULT_MODULE;
  const std::string sweep_out = (toy::testing::scratch_dir("exit_device") / "sweep").string();
  for (const std::string cmd : {std::string("train --epochs 2 --device cuda"),
                                std::string("bench --steps 1 --warmup 0 --device cuda"),
                                "sweep --seeds 2 --epochs 2 --device cuda --quiet --out " + sweep_out}) {
    CAPTURE(cmd);
    const auto r = run_cli(cmd, "exit_device", env);
    CHECK(r.code == 3);
    CHECK_MESSAGE(r.err.find("toyformer: device failure: cuda: cudaStreamCreateWithFlags") != std::string::npos, r.err);
    CHECK_MESSAGE(r.err.find("an illegal memory access was encountered") != std::string::npos, r.err);
    CHECK(r.err.find('\n') == r.err.size() - 1);  // one line
  }
  // The module's own "no GPU" answer is still bad usage (2): a device that is absent has not failed.
  const auto absent = run_cli("train --epochs 1 --device cuda", "exit_absent", "TOYFORMER_CUDA_MODULE=/no/such.so");
  CHECK(absent.code == 2);
#else
  std::printf("toyformer-test-skipped: this build has no CUDA module to stand in for\n");
#endif
}
