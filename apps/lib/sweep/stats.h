// The statistics the sweep reports and the plots draw: Wilson score intervals for rates and quantiles with
// numpy's default interpolation. Plain functions, no I/O (the SVG writer and the sweep both read them).
#pragma once
#include <cstdint>
#include <vector>

namespace toy {

// Wilson score interval for k successes of n at the given z (95%: 1.959964); n == 0 gives [0, 1].
struct Interval {
  double lo = 0, hi = 1;
};
Interval wilson_interval(int64_t k, int64_t n, double z = 1.959963984540054);

// The q-quantile, linear interpolation between order statistics (numpy's default); NaN for no values.
double quantile(std::vector<double> v, double q);

}  // namespace toy
