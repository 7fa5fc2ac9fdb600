// Rng and initializers.
#include "core/rng.h"

#include <cmath>
#include <sstream>

#include "core/error.h"

namespace toy {

float Rng::uniform01() { return static_cast<float>(engine_() >> 40) * 0x1.0p-24f; }

float Rng::uniform(float lo, float hi) { return lo + (hi - lo) * uniform01(); }

uint64_t Rng::below(uint64_t n) {
  TOY_CHECK(n > 0, "rng: below(0)");
  // Rejection sampling keeps every value equally likely.
  uint64_t limit = UINT64_MAX - UINT64_MAX % n;
  uint64_t x;
  do x = engine_();
  while (x >= limit);
  return x % n;
}

std::string Rng::state() const {
  std::ostringstream os;
  os << engine_;
  return os.str();
}

void Rng::set_state(const std::string& s) {
  std::istringstream is(s);
  is >> engine_;
  TOY_CHECK(!is.fail(), "rng: invalid state string");
}

namespace init {

Tensor uniform(const Shape& shape, Rng& rng, float lo, float hi) {
  TOY_CHECK(lo < hi, "init.uniform: empty range [{}, {})", lo, hi);
  Tensor t = Tensor::empty(shape);
  for (int64_t i = 0; i < t.numel(); ++i) t[i] = rng.uniform(lo, hi);
  return t;
}

Tensor glorot_uniform(const Shape& shape, Rng& rng) {
  TOY_CHECK(shape.rank() == 2, "init.glorot_uniform: expects a [fan_in, fan_out] kernel, got ({})", shape.str());
  float limit = std::sqrt(6.0f / static_cast<float>(shape[0] + shape[1]));
  return uniform(shape, rng, -limit, limit);
}

Tensor zeros(const Shape& shape) { return Tensor::zeros(shape); }
Tensor ones(const Shape& shape) { return Tensor::full(shape, 1.0f); }

}  // namespace init
}  // namespace toy
