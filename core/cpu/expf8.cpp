// expf8: glibc's expf (sysdeps/ieee754/flt-32/e_expf.c, as its FMA build __expf_fma computes it) on four lanes of
// doubles at a time. Compiled with -ffp-contract=off (CMakeLists.txt): the only FMAs are the explicit ones.
#include "core/cpu/expf8.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <initializer_list>

#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
#define TOY_EXPF8_X86 1
#endif

namespace toy::cpu {
namespace {

// Below -104 expf is +0 (e^-104 is under half the least subnormal).
inline float expf_scalar(float x) { return x < -104.0f ? 0.0f : expf(x); }

void expf_libm(float* v, int64_t n) {
  for (int64_t i = 0; i < n; ++i) v[i] = expf_scalar(v[i]);
}

#ifdef TOY_EXPF8_X86
// 2^(i/32) as doubles, each with i << 47 subtracted from its bits, so adding k << 47 (k = the integer part of
// x 32 / ln 2) gives 2^(k/32) directly (the low 5 bits of k select the entry, the rest land in the exponent).
alignas(32) const uint64_t kExp2Table[32] = {
    0x3ff0000000000000, 0x3fefd9b0d3158574, 0x3fefb5586cf9890f, 0x3fef9301d0125b51, 0x3fef72b83c7d517b,
    0x3fef54873168b9aa, 0x3fef387a6e756238, 0x3fef1e9df51fdee1, 0x3fef06fe0a31b715, 0x3feef1a7373aa9cb,
    0x3feedea64c123422, 0x3feece086061892d, 0x3feebfdad5362a27, 0x3feeb42b569d4f82, 0x3feeab07dd485429,
    0x3feea47eb03a5585, 0x3feea09e667f3bcd, 0x3fee9f75e8ec5f74, 0x3feea11473eb0187, 0x3feea589994cce13,
    0x3feeace5422aa0db, 0x3feeb737b0cdc5e5, 0x3feec49182a3f090, 0x3feed503b23e255d, 0x3feee89f995ad3ad,
    0x3feeff76f2fb5e47, 0x3fef199bdd85529c, 0x3fef3720dcef9069, 0x3fef5818dcfba487, 0x3fef7c97337b9b5f,
    0x3fefa4afa2a490da, 0x3fefd0765b6e4540};

// Four lanes: kd = x 32/ln2 + shift (one FMA; its low bits are k), r = x 32/ln2 - (kd - shift) (one FMA),
// s = 2^(k/32), p = (c0 r + c1) r^2 + (c2 r + 1), exp = (float)(p s).
__attribute__((target("avx2,fma"))) __m128 exp4(__m128 xf) {
  const __m256d inv_ln2_n = _mm256_set1_pd(0x1.71547652b82fep+5), shift = _mm256_set1_pd(0x1.8p+52);
  const __m256d c0 = _mm256_set1_pd(0x1.c6af84b912394p-20), c1 = _mm256_set1_pd(0x1.ebfce50fac4f3p-13);
  const __m256d c2 = _mm256_set1_pd(0x1.62e42ff0c52d6p-6), one = _mm256_set1_pd(1.0);
  const __m256d xd = _mm256_cvtps_pd(xf);
  __m256d kd = _mm256_fmadd_pd(inv_ln2_n, xd, shift);
  const __m256i ki = _mm256_castpd_si256(kd);
  kd = _mm256_sub_pd(kd, shift);
  const __m256d r = _mm256_fmsub_pd(inv_ln2_n, xd, kd);
  const __m256i entry = _mm256_i64gather_epi64(reinterpret_cast<const long long*>(kExp2Table),
                                               _mm256_and_si256(ki, _mm256_set1_epi64x(31)), 8);
  const __m256d s = _mm256_castsi256_pd(_mm256_add_epi64(entry, _mm256_slli_epi64(ki, 47)));
  const __m256d z = _mm256_fmadd_pd(c0, r, c1);
  const __m256d r2 = _mm256_mul_pd(r, r);
  __m256d y = _mm256_fmadd_pd(r, c2, one);
  y = _mm256_fmadd_pd(z, r2, y);
  return _mm256_cvtpd_ps(_mm256_mul_pd(y, s));
}

// Eight lanes at once. Lanes outside the polynomial's range (|x| >= 88: top 12 bits of |x| above 0x42a, infinities,
// NaN) are garbage in the result unless below -104, which come out +0 (the causal mask's entries: a lane test per
// group mispredicted on their pattern); *slow gets the others' bits, for libm.
__attribute__((target("avx2,fma"), always_inline)) inline __m256 exp8(__m256 x, int* slow) {
  const __m256i top = _mm256_and_si256(_mm256_srli_epi32(_mm256_castps_si256(x), 20), _mm256_set1_epi32(0x7ff));
  const int special = _mm256_movemask_ps(_mm256_castsi256_ps(_mm256_cmpgt_epi32(top, _mm256_set1_epi32(0x42a))));
  const __m256 below = _mm256_cmp_ps(x, _mm256_set1_ps(-104.0f), _CMP_LT_OQ);
  const int below_bits = _mm256_movemask_ps(below);
  *slow = special & ~below_bits;
  if (below_bits == 0xff) return _mm256_setzero_ps();  // all eight underflow (stacked models' masked entries)
  const __m128 lo = exp4(_mm256_castps256_ps128(x)), hi = exp4(_mm256_extractf128_ps(x, 1));
  return _mm256_andnot_ps(below, _mm256_set_m128(hi, lo));
}

// v[0..n) in one call (a call per group through the chosen pointer cost a fifth of the time): groups of eight, then
// the last n % 8 as one group (a masked load; the lanes past n compute expf(0), not stored).
__attribute__((target("avx2,fma"))) void expf8_fma(float* v, int64_t n) {
  alignas(32) float in[8], out[8];
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 x = _mm256_loadu_ps(v + i);
    int slow;
    _mm256_storeu_ps(v + i, exp8(x, &slow));
    if (slow) {
      _mm256_store_ps(in, x);
      for (int l = 0; l < 8; ++l)
        if (slow & (1 << l)) v[i + l] = expf_scalar(in[l]);
    }
  }
  const int rest = static_cast<int>(n - i);
  if (rest == 0) return;
  static const int32_t kFirst[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
  const __m256 x = _mm256_maskload_ps(v + i, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(kFirst + 8 - rest)));
  int slow;
  _mm256_store_ps(out, exp8(x, &slow));
  _mm256_store_ps(in, x);
  for (int l = 0; l < rest; ++l) v[i + l] = slow & (1 << l) ? expf_scalar(in[l]) : out[l];
}

// Whether expf8_fma gives libm's bits on probes across the range (~1 ms): every 9973rd float pattern from 0 to 92,
// both signs, and the edges of the special range.
bool fma_matches_libm() {
  float batch[8], want[8];
  int n = 0;
  bool ok = true;
  auto flush = [&] {
    for (int l = n; l < 8; ++l) {
      batch[l] = 0.0f;
      want[l] = expf_scalar(0.0f);
    }
    expf8_fma(batch, 8);
    for (int l = 0; l < 8; ++l) ok = ok && std::memcmp(&batch[l], &want[l], sizeof(float)) == 0;
    n = 0;
  };
  auto probe = [&](float x) {
    batch[n] = x;
    want[n] = expf_scalar(x);
    if (++n == 8) flush();
  };
  for (uint32_t bits = 0; bits < 0x42b80000u; bits += 9973) {
    float x;
    std::memcpy(&x, &bits, sizeof x);
    probe(x);
    probe(-x);
  }
  for (float x : {88.0f, -88.0f, 88.72f, -87.3f, -103.9f, -104.0f, INFINITY, -INFINITY, NAN}) probe(x);
  flush();
  return ok;
}
#endif

using ExpfN = void (*)(float*, int64_t);  // v[0..n) in place

ExpfN chosen() {
#ifdef TOY_EXPF8_X86
  static const ExpfN f = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && fma_matches_libm()
                             ? expf8_fma
                             : expf_libm;
  return f;
#else
  return expf_libm;
#endif
}

}  // namespace

void expf8(float* v) { chosen()(v, 8); }

void expf_n(float* v, int64_t n) { chosen()(v, n); }

bool expf8_vectorized() { return chosen() != &expf_libm; }

}  // namespace toy::cpu
