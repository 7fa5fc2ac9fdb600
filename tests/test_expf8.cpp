// cpu::expf8 (core/cpu/expf8.h) against libm's expf, bit for bit: the stacked models of the CPU fused step depend on
// it to get the bits each model gets alone.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <string>

#include "core/cpu/expf8.h"

namespace {

float libm_exp(float x) { return x < -104.0f ? 0.0f : expf(x); }

// Runs expf8 over eight inputs and counts the lanes whose bits differ from libm's.
int mismatches(const float (&x)[8]) {
  float v[8];
  std::memcpy(v, x, sizeof v);
  toy::cpu::expf8(v);
  int bad = 0;
  for (int l = 0; l < 8; ++l) {
    const float want = libm_exp(x[l]);
    if (std::memcmp(&v[l], &want, sizeof(float)) != 0) {
      if (bad == 0) MESSAGE("expf(" << x[l] << ") = " << want << ", expf8 gave " << v[l]);
      ++bad;
    }
  }
  return bad;
}

}  // namespace

TEST_CASE("cpu/expf8: libm's expf bit for bit, on every 61st float and the special ranges") {
#if defined(__x86_64__)
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
    CHECK(toy::cpu::expf8_vectorized());  // the vector path passed its probes on this machine
#endif
  MESSAGE("expf8 " << std::string(toy::cpu::expf8_vectorized() ? "vectorized" : "through libm"));
  int64_t bad = 0, n = 0;
  float batch[8];
  int k = 0;
  // 2^32 / 61 patterns in steps that visit every mantissa residue: both signs, subnormals, infinities, NaNs.
  for (uint64_t bits = 0; bits <= 0xffffffffu; bits += 61) {
    const uint32_t b = static_cast<uint32_t>(bits);
    std::memcpy(&batch[k], &b, sizeof(float));
    if (++k == 8) {
      bad += mismatches(batch);
      n += 8;
      k = 0;
    }
  }
  // Edges: the polynomial range's ends (|x| near 88), the subnormal results, -104, overflow to infinity.
  for (float lo : {-104.5f, -88.5f, -0.001f, 87.5f, 88.6f}) {
    float x = lo;
    for (int i = 0; i < 4096; ++i) {
      for (int l = 0; l < 8; ++l) batch[l] = x = std::nextafter(x, INFINITY);
      bad += mismatches(batch);
      n += 8;
    }
  }
  CAPTURE(n);
  CHECK(bad == 0);
}

TEST_CASE("cpu/expf8: expf_n gives libm's bits at every length, tail included, in place") {
  // Lengths 0..25: whole groups of eight, and tails of every size (a tail is one masked group), with masked entries
  // (-1e9) and lanes for libm (NaN, a subnormal result, overflow, +inf) among them.
  const float for_libm[4] = {NAN, -95.5f, 89.0f, INFINITY};
  for (int n = 0; n <= 25; ++n) {
    CAPTURE(n);
    float x[25] = {}, v[25];
    for (int i = 0; i < n; ++i)
      x[i] = i % 5 == 4 ? -1e9f : i % 7 == 6 ? for_libm[(i / 7 + n) % 4] : 0.37f * static_cast<float>(i) - 4.1f;
    std::memcpy(v, x, sizeof v);
    toy::cpu::expf_n(v, n);
    for (int i = 0; i < n; ++i) {
      const float want = libm_exp(x[i]);
      CHECK(std::memcmp(&v[i], &want, sizeof(float)) == 0);
    }
    if (n < 25) CHECK(std::memcmp(&v[n], &x[n], sizeof(float)) == 0);  // nothing past n written
  }
}

TEST_CASE("cpu/expf8: eight lanes that all underflow (a causal mask's entries in stacked models) give +0") {
  // All eight below -104: the vector path writes zeros without the polynomial; one lane above keeps every lane on
  // the ordinary path; a NaN among them is no underflow.
  const float all_below[8] = {-1e9f, -104.5f, -200.0f, -INFINITY, -1e30f, -1e9f, -3e38f, -104.01f};
  CHECK(mismatches(all_below) == 0);
  const float one_above[8] = {-1e9f, -1e9f, -1e9f, -103.9f, -1e9f, -1e9f, -1e9f, -1e9f};
  CHECK(mismatches(one_above) == 0);
  const float with_nan[8] = {-1e9f, -1e9f, NAN, -1e9f, -1e9f, -1e9f, -1e9f, -1e9f};
  float v[8];
  std::memcpy(v, with_nan, sizeof v);
  toy::cpu::expf8(v);
  CHECK(std::isnan(v[2]));
  for (int l : {0, 1, 3, 4, 5, 6, 7}) CHECK(v[l] == 0.0f);
  // Several groups in one call: each group decides for itself.
  float many[24];
  for (int i = 0; i < 24; ++i) many[i] = i < 8 || i >= 16 ? -1e9f : 0.25f * static_cast<float>(i - 12);
  float want[24];
  for (int i = 0; i < 24; ++i) want[i] = libm_exp(many[i]);
  toy::cpu::expf_n(many, 24);
  CHECK(std::memcmp(many, want, sizeof many) == 0);
}
