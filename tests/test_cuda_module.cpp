// The CUDA backend as a run-time module (cuda/module.h): a CPU run never opens it, a missing module is a clear
// error naming where it was looked for, and the module exports only its entries.
#include <doctest/doctest.h>

#include <cstdio>
#include <string>

#include "core/backend.h"
#include "tests/cli_util.h"

using namespace toy;
using toy::testing::run_cli;

namespace {
// Tests about the module mean nothing in a build without CUDA: report them as skipped (tests/CMakeLists.txt).
bool skip_without_cuda_build() {
  if (cuda_compiled()) return false;
  std::printf("toyformer-test-skipped: this build has no CUDA module\n");
  return true;
}
}  // namespace

TEST_CASE("cuda/module: a CPU train never opens the CUDA module, CUDA's runtime or cuBLAS") {
  if (skip_without_cuda_build()) return;
  // The dynamic loader lists every object it opens (LD_DEBUG=files, on stderr).
  const auto r = run_cli("train --epochs 3 --quiet", "module_cpu", "LD_DEBUG=files");
  REQUIRE(r.code == 0);
  CHECK(r.err.find("file=") != std::string::npos);  // the loader did report: the check below can fail
  CHECK(r.err.find("libtoyformer_cuda") == std::string::npos);
  CHECK(r.err.find("libcudart") == std::string::npos);
  CHECK(r.err.find("libcublas") == std::string::npos);
  // `devices` does open it (and the CUDA runtime with it).
  const auto d = run_cli("devices", "module_devices", "LD_DEBUG=files");
  REQUIRE(d.code == 0);
  CHECK(d.err.find("libtoyformer_cuda") != std::string::npos);
  CHECK(d.err.find("libcudart") != std::string::npos);
}

TEST_CASE("cuda/module: a module that cannot be loaded is a clear error naming the path, exit 2") {
  if (skip_without_cuda_build()) return;
  const auto r = run_cli("train --epochs 1 --device cuda", "module_missing", "TOYFORMER_CUDA_MODULE=/no/such/module.so");
  CHECK(r.code == 2);
  CHECK_MESSAGE(r.err.find("cannot load the CUDA module libtoyformer_cuda.so (/no/such/module.so: no such file)") !=
                    std::string::npos,
                r.err);
  const auto d = run_cli("devices", "module_missing_devices", "TOYFORMER_CUDA_MODULE=/no/such/module.so");
  CHECK(d.code == 0);
  CHECK(d.out.find("no usable GPU: cannot load the CUDA module") != std::string::npos);
  // A file that is not a shared object is refused with the loader's reason, not a crash.
  const auto n = run_cli("devices", "module_not_so", "TOYFORMER_CUDA_MODULE=" TOY_SOURCE_DIR "/README.md");
  CHECK(n.code == 0);
  CHECK_MESSAGE(n.out.find("README.md") != std::string::npos, n.out);
}

TEST_CASE("cuda/module: the CPU answers stay the same whether or not the module loads") {
  if (skip_without_cuda_build()) return;
  const auto a = run_cli("train --epochs 50 --quiet --seed 2", "module_same_a");
  const auto b = run_cli("train --epochs 50 --quiet --seed 2", "module_same_b", "TOYFORMER_CUDA_MODULE=/no/such.so");
  REQUIRE(a.code == 0);
  REQUIRE(b.code == 0);
  auto strip = [](std::string s) {  // the timing differs run to run
    const size_t at = s.find(" us/step");
    const size_t from = s.rfind(", ", at);
    return at == std::string::npos ? s : s.erase(from, at - from);
  };
  CHECK(strip(a.out) == strip(b.out));
}
