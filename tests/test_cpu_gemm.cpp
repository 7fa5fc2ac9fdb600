// The CPU backend's matrix products at every size class: direct loops (tiny), Eigen (mid), and OpenBLAS (large,
// when the build has it, core/cpu/cpu_backend.cpp): each against a double-precision reference for all four
// transpose combinations, alpha/beta, and batched strides, and bit-identical run to run.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "core/backend.h"
#include "core/rng.h"

using namespace toy;

namespace {

std::vector<float> random_vector(size_t n, uint64_t seed) {
  Rng rng(seed);
  std::vector<float> v(n);
  for (float& x : v) x = rng.uniform(-1.0f, 1.0f);
  return v;
}

}  // namespace

TEST_CASE("cpu/gemm: tiny, mid and large products match a double reference for every transpose, alpha and beta") {
  Backend& cpu = backend(Device::CPU);
  struct Size {
    int64_t m, n, k;
  };
  // 7x5x3 (direct loops), 40x30x50 (Eigen), 130x140x150 (OpenBLAS when built with it: >= 128^3 multiply-adds).
  for (const Size s : {Size{7, 5, 3}, Size{40, 30, 50}, Size{130, 140, 150}})
    for (bool ta : {false, true})
      for (bool tb : {false, true})
        for (float beta : {0.0f, 1.0f}) {
          CAPTURE(s.m);
          CAPTURE(ta);
          CAPTURE(tb);
          CAPTURE(beta);
          const int64_t batch = 2;
          const auto a = random_vector(static_cast<size_t>(batch * s.m * s.k), 1);
          const auto b = random_vector(static_cast<size_t>(batch * s.k * s.n), 2);
          const auto c0 = random_vector(static_cast<size_t>(batch * s.m * s.n), 3);
          GemmArgs g;
          g.trans_a = ta, g.trans_b = tb, g.batch = batch, g.m = s.m, g.n = s.n, g.k = s.k;
          g.a = a.data(), g.stride_a = s.m * s.k, g.b = b.data(), g.stride_b = s.k * s.n;
          g.stride_c = s.m * s.n, g.alpha = 1.0f, g.beta = beta;
          std::vector<float> c1 = c0, c2 = c0;
          g.c = c1.data();
          cpu.gemm(g);
          g.c = c2.data();
          cpu.gemm(g);
          CHECK(c1 == c2);  // the same bits run to run
          double worst = 0;
          for (int64_t bi = 0; bi < batch; ++bi)
            for (int64_t i = 0; i < s.m; ++i)
              for (int64_t j = 0; j < s.n; ++j) {
                double ref = beta * static_cast<double>(c0[static_cast<size_t>(bi * s.m * s.n + i * s.n + j)]);
                for (int64_t p = 0; p < s.k; ++p) {
                  const double av = a[static_cast<size_t>(bi * s.m * s.k + (ta ? p * s.m + i : i * s.k + p))];
                  const double bv = b[static_cast<size_t>(bi * s.k * s.n + (tb ? j * s.k + p : p * s.n + j))];
                  ref += av * bv;
                }
                worst = std::max(worst, std::abs(ref - c1[static_cast<size_t>(bi * s.m * s.n + i * s.n + j)]));
              }
          CHECK(worst < 1e-5 * static_cast<double>(s.k));  // float rounding of a k-term sum of terms below 1
        }
}
