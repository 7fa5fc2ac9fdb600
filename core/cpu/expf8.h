// expf of eight floats at once, bit for bit libm's expf on this machine: the CPU fused step's stacked models (one per
// SIMD lane, layers/toy_step_cpu.cpp) exponentiate their softmax, sigmoid and loss rows with it instead of eight libm
// calls, and still get the bits each model gets alone.
#pragma once

#include <cstdint>

namespace toy::cpu {

// v[0..8) = expf(v[0..8)) in place. On an x86-64 CPU with AVX2 and FMA: glibc's expf algorithm (x N / ln 2 split into
// k + r, 2^(k/N) from a 32-entry table, a degree-3 polynomial in r, all in double with the FMAs where glibc's FMA
// build has them), four lanes per AVX2 vector; lanes with |x| >= 88 or a NaN (overflow, subnormal results) and any
// other CPU call libm's expf. Below -104 the result is +0 without libm's slow underflow path. The vector path is used
// only when it reproduced libm's expf on a set of probes at first use (expf8_vectorized() says which ran);
// tests/test_expf8.cpp compares it with libm on every 61st float and all the special ranges.
void expf8(float* v);
// v[0..n) = expf(v[0..n)) in place, the same bits: the groups of eight in one call of the vector path (a group whose
// eight lanes are all below -104 becomes +0 without the polynomial, any lane below -104 +0 without libm), the rest
// (< 8) as one more group, masked.
void expf_n(float* v, int64_t n);
bool expf8_vectorized();

}  // namespace toy::cpu
